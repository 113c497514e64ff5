"""What nbrules does with each key of a Ploomber ``pipeline.yaml``: honour it, warn
that it is ignored (once per key, saying what nbrules does instead), or refuse it
with a hint; any other key is an error with a did-you-mean.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..common.errors import ConfigError, NbrulesError, Problems
from ..common.text import did_you_mean
from ..common.yaml import line_of

HONOURED_TASK = (
    "source",
    "product",
    "name",
    "params",
    "upstream",
    "grid",
    "class",
    "product_class",
    "nb_product_key",
    "on_finish",
    "nbconvert_export_kwargs",
)
#: nbconvert's switches for what an HTML rendering leaves out (TemplateExporter traits).
EXPORT_FLAGS = (
    "exclude_input",
    "exclude_output",
    "exclude_input_prompt",
    "exclude_output_prompt",
    "exclude_markdown",
    "exclude_code_cell",
    "exclude_raw",
    "exclude_unknown",
)
HOOKS = "hooks are not run: put that code in a notebook (a downstream task if it needs products)"
SERIALIZERS = (
    "functions write their products themselves: a serializer is not applied to what they return"
)
CLIENTS = "database clients serve SQL tasks, which nbrules does not run"
_KERNEL = "every notebook runs in a Jupyter kernel through nbclient (config nbrules.kernel)"
_NB_OUT = (
    "the executed notebook is written as .ipynb, or as HTML with figures embedded "
    "when its path ends in .html"
)
WARNED_TASK = {
    "papermill_params": _KERNEL,
    "executor": _KERNEL,
    "executor_params": _KERNEL,
    "kernelspec_name": _KERNEL,
    "check_if_kernel_installed": _KERNEL,
    "debug_mode": _KERNEL,
    "ext_in": "a source's kind is told by its suffix: .py or .ipynb notebook, .sh script",
    "static_analysis": "nbrules injects every params value without checking it against "
    "the parameters cell",
    "nbconvert_exporter_name": _NB_OUT,
    "local_execution": "kernels always run in the project folder (where pipeline.yaml is)",
    "on_render": HOOKS,
    "on_failure": HOOKS,
    "serializer": SERIALIZERS,
    "unserializer": SERIALIZERS,
    "product_client": "products are local files; copy them to remote storage in a downstream task",
}
#: Keys only Ploomber's SQL tasks take (SQLScript, SQLDump, SQLUpload, …).
SQL_TASK_KEYS = ("client", "chunksize", "io_handler", "to_sql_kwargs")
SQL_HINT = (
    "run the query from a notebook or a Python-function task (e.g. pandas.read_sql with "
    "your database client) and save its result as a product"
)
HONOURED_TOP = ("tasks", "meta", "executor")
HONOURED_META = (
    "extract_upstream",
    "extract_product",
    "product_relative_to_source",
    "product_default_class",
    "import_tasks_from",
)
WARNED_TOP = {
    "config": "Ploomber's DAG configuration has no effect: Snakemake options and profiles "
    "replace it",
    "clients": CLIENTS,
    "serializer": SERIALIZERS,
    "unserializer": SERIALIZERS,
    "on_finish": HOOKS,
    "on_render": HOOKS,
    "on_failure": HOOKS,
}
WARNED_META = {
    "jupyter_hot_reload": "applies to Ploomber's Jupyter extension only",
    "jupyter_functions_as_notebooks": "applies to Ploomber's Jupyter extension only",
    "source_loader": "applies to SQL templates; notebook sources are read from their path",
}


@dataclass(frozen=True, slots=True)
class SpecWarning:
    """A key nbrules accepts but does not honour; reported once per key."""

    key: str
    message: str
    path: Path
    line: int

    def render(self) -> str:
        return f"{self.path}:{self.line}: warning: '{self.key}' is ignored: {self.message}"


class Warnings:
    """First occurrence of each warned key (a key used by ten tasks warns once)."""

    def __init__(self) -> None:
        self.found: dict[str, SpecWarning] = {}

    def add(self, key: str, message: str, path: Path, line: int) -> None:
        self.found.setdefault(key, SpecWarning(key, message, path, line))


def check_keys(
    data: Mapping[str, Any],
    honoured: tuple[str, ...],
    warned: Mapping[str, str],
    where: str,
    path: Path,
    warnings: Warnings,
) -> None:
    """Warned keys are recorded, honoured ones pass; every other key is reported,
    all of them at once (SQL task keys as such, the rest with a did-you-mean)."""
    known = [*honoured, *warned]
    problems: list[NbrulesError] = []
    for key in data:
        if key in warned:
            warnings.add(str(key), warned[key], path, line_of(data, key))
        elif where == "task" and key in SQL_TASK_KEYS:
            problems.append(
                ConfigError(
                    f"SQL tasks are not supported ('{key}' is a key of Ploomber's SQL tasks)",
                    path=path,
                    line=line_of(data, key),
                    hint=SQL_HINT,
                )
            )
        elif key not in honoured:
            problems.append(
                ConfigError(
                    f"unknown {where} key '{key}'",
                    path=path,
                    line=line_of(data, key),
                    hint=did_you_mean(str(key), known),
                )
            )
    Problems.raise_if_any(problems)

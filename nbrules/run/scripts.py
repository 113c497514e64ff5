"""Tasks that are not notebooks: a Python function called in the job process, or a
shell script rendered and run by ``bash``.

Both receive what Ploomber gives them. A function (Ploomber's ``PythonCallable``) is
called with its ``params`` as keyword arguments, plus ``product`` (a path, or a dict
of paths) and ``upstream`` (upstream name → its product) when the task has upstreams
or the signature asks for it. A script (Ploomber's ``ShellScript``) has its
``{{product}}``, ``{{product['data']}}``, ``{{upstream['get']}}`` and ``{{param}}``
placeholders rendered before ``bash`` runs it in the project folder.

Products exist on return, or none do.
"""

from __future__ import annotations

import importlib
import inspect
import subprocess
import sys
import traceback
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment

from ..common.errors import ExecutionError
from ..plan.declarations import NB_KEY
from ..plan.jobspec import JobSpec
from ..plan.report import RENDERED

_JINJA = SandboxedEnvironment(undefined=StrictUndefined, keep_trailing_newline=True)


def product_value(spec: JobSpec) -> Any:
    """``product`` as Ploomber passes it: one path, or a dict of paths."""
    products = {k: v for k, v in spec.plain_products.items() if k != RENDERED}
    return products[NB_KEY] if spec.single else products


def run_function(spec: JobSpec, cwd: Path) -> None:
    """Import the function's module (the job's import path first) and call it."""
    module_name, _, attribute = spec.function.rpartition(".")
    for folder in reversed(spec.pythonpath):
        path = str((cwd / folder).resolve())
        if path not in sys.path:
            sys.path.insert(0, path)
    function = getattr(importlib.import_module(module_name), attribute, None)
    if not callable(function):
        raise ExecutionError(
            f"{spec.function} is not a function", path=spec.source, hint="check 'source:'"
        )
    kwargs = {**spec.params, "product": product_value(spec)}
    if spec.upstream or _accepts(function, "upstream"):
        kwargs["upstream"] = spec.upstream
    try:
        function(**kwargs)
    except Exception as exc:
        raise _failure(spec, cwd, exc) from None


def _accepts(function: Callable[..., Any], name: str) -> bool:
    try:
        return name in inspect.signature(function).parameters
    except (TypeError, ValueError):
        return False


def _failure(spec: JobSpec, cwd: Path, exc: Exception) -> ExecutionError:
    """The error at the deepest line of the function's module in the traceback."""
    module = (cwd / spec.source).resolve()
    frames = traceback.extract_tb(exc.__traceback__)
    lines = [f.lineno for f in frames if Path(f.filename).resolve() == module and f.lineno]
    name = type(exc).__name__
    return ExecutionError(
        f"{name}: {exc}",
        path=spec.source,
        line=lines[-1] if lines else None,
        hint=f"{spec.function} raised it; the traceback is in the job's log",
        ename=name,
        evalue=str(exc),
        traceback="".join(traceback.format_exception(exc)),
    )


def render_script(spec: JobSpec, text: str) -> str:
    """The script with ``{{product}}``, ``{{upstream[...]}}`` and params rendered."""
    values = {**spec.params, "product": product_value(spec), "upstream": spec.upstream}
    try:
        return _JINJA.from_string(text).render(values)
    except TemplateError as exc:
        raise ExecutionError(
            f"cannot render the script: {exc}",
            path=spec.source,
            line=getattr(exc, "lineno", None),
            hint="placeholders are {{product}}, {{product['key']}}, {{upstream['task']}} "
            "and the task's params",
        ) from None


def run_shell(spec: JobSpec, cwd: Path, env: Mapping[str, str]) -> None:
    """Render the script and run it with ``bash`` in the project folder."""
    script = render_script(spec, (cwd / spec.source).read_text(encoding="utf-8"))
    done = subprocess.run(["bash", "-c", script, spec.source], cwd=cwd, env=dict(env), check=False)
    if done.returncode != 0:
        raise ExecutionError(
            f"the script exited with status {done.returncode}",
            path=spec.source,
            hint="its output is in the job's log",
        )

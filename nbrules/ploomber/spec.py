"""Ploomber's ``pipeline.yaml`` → the same :class:`~nbrules.plan.declarations.Task` objects
as native notebooks, so one graph, one rule derivation, one executor and one cache
serve both.

Paths are Ploomber's: sources and products are relative to the project folder (the
folder of ``pipeline.yaml``, or of ``setup.py`` for a ``src/<pkg>/pipeline.yaml``
package), so products land exactly where ``ploomber build`` puts them. Strings may
use ``{{placeholders}}`` from ``env.yaml`` (see :mod:`nbrules.ploomber.env`).

Keys of the spec, by what nbrules does with them (the tables are in :mod:`.keys`):

- honoured: ``tasks`` (or the whole file as a list of tasks); per task ``source``
  (a jupytext ``.py`` notebook, an ``.ipynb``, a ``.sh`` script or a Python function
  ``module.function``), ``product`` (a path, or a dict of paths holding
  ``nb``), ``name``, ``params`` (``resources_`` paths made absolute), ``upstream``
  (with ``meta.extract_upstream: false``), ``grid``, ``class: NotebookRunner``,
  ``product_class: File``, ``nb_product_key: nb``; ``meta``: ``extract_upstream``,
  ``extract_product``, ``product_relative_to_source``, ``product_default_class``,
  ``import_tasks_from``; top-level ``executor`` (the default ``--cores`` of
  ``nbrules build``: ``serial`` → 1, ``parallel`` → all, ``Parallel`` with ``processes: N``
  → N).
- warned once (accepted, not honoured): ``WARNED_*`` below, each with what nbrules
  does instead.
- refused with an error naming the task: ``location`` (a factory), SQL tasks, other
  task or product classes, other sources.
- anything else: an error with a did-you-mean.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ..common.errors import ConfigError, DeclarationError, NbrulesError, Problems
from ..common.files import normal, relative_if_inside
from ..common.text import did_you_mean
from ..common.yaml import YamlMap, line_of, read_yaml
from ..plan.declarations import ParametersCell, Task, task_from_cell
from .env import Env
from .keys import (
    HONOURED_META,
    HONOURED_TOP,
    WARNED_META,
    WARNED_TOP,
    SpecWarning,
    Warnings,
    check_keys,
)
from .tasks import Draft, Meta, entry_drafts

SPEC_NAME = "pipeline.yaml"


@dataclass(frozen=True, slots=True)
class Spec:
    """A loaded ``pipeline.yaml``: its tasks (paths relative to ``root``) and warnings."""

    path: Path
    root: Path
    tasks: tuple[Task, ...]
    warnings: tuple[SpecWarning, ...]
    cores: str | None = None  # what ``executor:`` implies for Snakemake's --cores


def project_root(spec_path: Path) -> Path:
    """The folder paths are relative to: ``setup.py``'s for ``src/<pkg>/pipeline.yaml``."""
    folder = spec_path.resolve().parent
    if folder.parent.name == "src" and (folder.parent.parent / "setup.py").is_file():
        return folder.parent.parent
    return folder


def load(spec_path: Path, env: Env, root: Path | None = None) -> Spec:
    """Read ``spec_path`` into tasks whose paths are relative to the project folder."""
    root = (root or project_root(spec_path)).resolve()
    shown = relative_if_inside(spec_path, root)
    raw = read_yaml(spec_path, shown)
    if isinstance(raw, list):
        raw = YamlMap({"tasks": raw})
    if not isinstance(raw, Mapping):
        raise ConfigError(
            "pipeline.yaml must hold a 'tasks:' list",
            path=shown,
            line=1,
            hint="tasks:\n  - source: get.py\n    product: output/get.ipynb",
        )
    warnings = Warnings()
    problems: list[NbrulesError] = []
    try:
        _check_top(raw, shown, warnings)
    except NbrulesError as error:  # reported with the tasks' problems
        problems.append(error)
    data = env.render(raw, shown, None)
    try:
        meta = _meta(data.get("meta"), shown, warnings)
        entries = [(e, shown, root) for e in _task_list(data, shown)]
        entries += _imported(data.get("meta"), spec_path, shown, env)
    except NbrulesError as error:
        Problems.raise_if_any([*problems, error])
        raise
    drafts: list[Draft] = []
    for entry, where, base in entries:
        try:
            drafts.extend(entry_drafts(entry, where, base, root, meta, warnings))
        except NbrulesError as error:  # every task's problems, in one run
            problems.append(error)
    Problems.raise_if_any(problems)
    if not drafts:
        raise ConfigError(
            "pipeline.yaml declares no tasks",
            path=shown,
            line=1,
            hint="tasks:\n  - source: get.py\n    product: output/get.ipynb",
        )
    cores = _cores(data.get("executor"), shown, line_of(data, "executor"), warnings)
    return Spec(spec_path, root, tuple(_tasks(drafts)), tuple(warnings.found.values()), cores)


def _cores(executor: Any, path: Path, line: int, warnings: Warnings) -> str | None:
    """Ploomber's executor as Snakemake's --cores: serial, parallel, Parallel(processes)."""
    if executor is None:
        return None
    if executor in ("serial", "parallel"):
        return "1" if executor == "serial" else "all"
    if isinstance(executor, Mapping) and "Parallel" in str(executor.get("dotted_path")):
        processes = executor.get("processes")
        return str(processes) if isinstance(processes, int) and processes > 0 else "all"
    warnings.add(
        "executor",
        f"{executor!r} has no Snakemake equivalent: pass --cores N (or a profile's executor)",
        path,
        line,
    )
    return None


def _check_top(raw: Mapping[str, Any], path: Path, warnings: Warnings) -> None:
    if "location" in raw:
        raise ConfigError(
            "'location' (a Python factory that builds the DAG) is not supported",
            path=path,
            line=line_of(raw, "location"),
            hint="list the notebooks under 'tasks:' instead",
        )
    check_keys(raw, HONOURED_TOP, WARNED_TOP, "pipeline.yaml", path, warnings)


def _meta(section: Any, path: Path, warnings: Warnings) -> Meta:
    if section is None:
        return Meta()
    if not isinstance(section, Mapping):
        raise ConfigError("'meta' must be a mapping", path=path, line=1)
    check_keys(section, HONOURED_META, WARNED_META, "meta", path, warnings)
    classes = section.get("product_default_class") or {}
    if not isinstance(classes, Mapping):
        raise ConfigError(
            "meta.product_default_class must map task classes to product classes",
            path=path,
            line=line_of(section, "product_default_class"),
            hint="product_default_class: {NotebookRunner: File}",
        )
    product_class = classes.get("NotebookRunner", "File")
    if product_class != "File":
        raise ConfigError(
            f"meta.product_default_class: NotebookRunner products must be File, "
            f"got {product_class!r}",
            path=path,
            line=line_of(section, "product_default_class"),
            hint="nbrules products are files; remove the NotebookRunner entry",
        )
    return Meta(
        extract_upstream=_flag(section, "extract_upstream", True, path),
        extract_product=_flag(section, "extract_product", False, path),
        relative_to_source=_flag(section, "product_relative_to_source", False, path),
    )


def _flag(section: Mapping[str, Any], key: str, default: bool, path: Path) -> bool:
    value = section.get(key, default)
    if not isinstance(value, bool):
        raise ConfigError(
            f"meta.{key} must be true or false, got {value!r}",
            path=path,
            line=line_of(section, key),
        )
    return value


def _task_list(data: Mapping[str, Any], path: Path) -> list[Any]:
    tasks = data.get("tasks")
    if tasks is None or isinstance(tasks, list):
        return tasks or []
    raise ConfigError(
        "'tasks' must be a list of tasks",
        path=path,
        line=line_of(data, "tasks"),
        hint="tasks:\n  - source: get.py\n    product: output/get.ipynb",
    )


def _imported(meta: Any, spec_path: Path, shown: Path, env: Env) -> list[tuple[Any, Path, Path]]:
    """``meta.import_tasks_from``: more tasks, sources relative to that file's folder."""
    name = meta.get("import_tasks_from") if isinstance(meta, Mapping) else None
    if not name:
        return []
    other = normal(spec_path.parent / str(name))
    if not other.is_file():
        raise ConfigError(
            f"meta.import_tasks_from: {name} does not exist",
            path=shown,
            line=line_of(meta, "import_tasks_from"),
        )
    root = project_root(spec_path)
    other_shown = relative_if_inside(other, root)
    tasks = read_yaml(other, other_shown)
    if not isinstance(tasks, list) or not tasks:
        raise ConfigError(
            "a file named by import_tasks_from must hold a list of tasks", path=other_shown, line=1
        )
    rendered = env.render(tasks, other_shown, None)
    return [(entry, other_shown, other.parent) for entry in rendered]


def _check_unique(drafts: list[Draft]) -> None:
    """Task names and product paths, reported at the YAML entries (not the notebooks)."""
    owners: dict[str, Draft] = {}
    for draft in drafts:
        products = draft.product.values() if isinstance(draft.product, dict) else [draft.product]
        for key in [f"name {draft.name}", *(f"product {p}" for p in products)]:
            other = owners.setdefault(key, draft)
            if other is not draft:
                what, value = key.split(" ", 1)
                raise ConfigError(
                    f"task '{draft.name}': {what} {value} is also the {what} of task "
                    f"'{other.name}' ({other.where}:{other.line})",
                    path=draft.where,
                    line=draft.line,
                    hint="give every task its own name"
                    if what == "name"
                    else "give every task its own product paths",
                )


def _tasks(drafts: list[Draft]) -> Iterator[Task]:
    """Expand ``fit-*`` upstream wildcards, then validate each draft into a Task."""
    _check_unique(drafts)
    names = [draft.name for draft in drafts]
    for draft in drafts:
        declared = draft.upstream
        if declared is None:
            declared = _notebook_upstream(draft.cell, draft.source)
        upstream: dict[str, str | None] = {}
        for name in declared:
            if "*" in name:
                upstream.update(dict.fromkeys(fnmatch.filter(names, name), name))
                continue
            if draft.upstream is not None and name not in names:
                raise ConfigError(
                    f"task '{draft.name}': unknown upstream '{name}'",
                    path=draft.where,
                    line=draft.line,
                    hint=did_you_mean(name, names, "known tasks"),
                )
            upstream[name] = None
        overridden = {"upstream"} | ({"product"} if draft.product is not None else set())
        cell = replace(
            draft.cell,
            values={**draft.cell.values, "upstream": list(upstream)},
            non_literal=draft.cell.non_literal - overridden,
        )
        # No HTML rendering unless asked for: products land exactly where Ploomber puts them.
        task = task_from_cell(
            draft.source, draft.name, cell, draft.product, draft.params, report_notebook=False
        )
        if draft.checks:
            task = replace(task, checks=(*task.checks, *draft.checks))
        if draft.kind != "notebook":
            task = replace(task, kind=draft.kind, function=draft.function)
        if draft.render:
            task = replace(task, render=draft.render)
        groups = {name: group for name, group in upstream.items() if group is not None}
        yield replace(task, groups=groups) if groups else task


def _notebook_upstream(cell: ParametersCell, source: Path) -> tuple[str, ...]:
    """Ploomber reads ``upstream`` as a list, tuple, set or dict (its keys), or None."""
    if "upstream" in cell.non_literal:
        raise DeclarationError(
            "'upstream' must be a literal",
            path=source,
            line=cell.lines["upstream"],
            hint='upstream = ["get", "clean"]  (or upstream = None)',
        )
    value = cell.values.get("upstream")
    if value is None:
        return ()
    if isinstance(value, (list, tuple, set, dict)) and all(isinstance(v, str) for v in value):
        return tuple(sorted(value) if isinstance(value, set) else value)
    raise DeclarationError(
        f"'upstream' must be None or a list of task names, got {value!r}",
        path=source,
        line=cell.lines.get("upstream", cell.line),
        hint='upstream = ["get", "clean"]  (or upstream = None)',
    )

"""Tasks → a validated DAG.

Checks, each reported at the offending notebook's line: duplicate task names (and
names that collide once made rule identifiers), unknown upstream names (with a
did-you-mean), cycles (printed ``a -> b -> a``), two tasks writing one product, and
product paths that escape the output root.
"""

from __future__ import annotations

import keyword
import posixpath
import re
import sys
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath

from ..common.errors import Cycle, DuplicateName, DuplicateProduct, GraphError, UnknownUpstream
from ..common.text import did_you_mean
from .declarations import Task, is_folder


@dataclass(frozen=True, slots=True)
class Pipeline:
    """Validated tasks by name, in a deterministic topological order."""

    tasks: Mapping[str, Task]
    order: tuple[str, ...]

    def __iter__(self) -> Iterator[Task]:
        return (self.tasks[name] for name in self.order)


#: Rule names nbrules defines itself (the target rule of ``notebooks.smk``).
RESERVED_RULES = frozenset({"notebooks"})


def rule_name(task_name: str) -> str:
    """A valid Snakemake rule identifier for a task name (``get-data`` → ``get_data``)."""
    name = re.sub(r"\W", "_", task_name)
    if (
        not name
        or name[0].isdigit()
        or keyword.iskeyword(name)
        or name in RESERVED_RULES
        or not name.isidentifier()
    ):
        name = f"nb_{name}"
    return name


def normalize_product(path: str) -> str | None:
    """The product path relative to the output root, or ``None`` if it escapes it."""
    pure = PurePosixPath(path.replace("\\", "/"))
    if pure.is_absolute():
        return None
    normal = posixpath.normpath(str(pure))
    if normal == "." or normal == ".." or normal.startswith("../"):
        return None
    return normal


def build(tasks: Iterable[Task]) -> Pipeline:
    """Validate tasks and order them; raises a :class:`GraphError` subclass."""
    by_name = _index(list(tasks))
    _check_upstream(by_name)
    _check_products(by_name)
    return Pipeline(by_name, _toposort(by_name))


def check_not_shadowing(tasks: Iterable[Task]) -> None:
    """Notebooks whose folder is on the kernel's import path must not shadow stdlib.

    A ``numbers.py`` notebook beside ``random.py`` would replace those modules in
    every kernel started with that folder on ``PYTHONPATH``: the kernel dies at
    start-up with an unhelpful message, as it would in Jupyter.
    """
    for task in tasks:
        stem = task.source.stem
        if stem.isidentifier() and stem in sys.stdlib_module_names:
            raise GraphError(
                f"notebook file name '{task.source.name}' shadows the standard library "
                f"module '{stem}'",
                path=task.source,
                line=task.line,
                hint=f"rename it (e.g. '{stem}-nb.py' or 'make-{stem}.py'): its folder is on "
                "the kernel's import path",
            )


def _index(tasks: list[Task]) -> dict[str, Task]:
    by_name: dict[str, Task] = {}
    by_rule: dict[str, Task] = {}
    for task in tasks:
        other = by_name.get(task.name) or by_rule.get(rule_name(task.name))
        if other is not None:
            same = "name" if other.name == task.name else f"rule name '{rule_name(task.name)}'"
            raise DuplicateName(
                f"notebook '{task.name}' has the same {same} as {other.source}",
                path=task.source,
                line=task.line,
                hint="rename one of the notebooks (names are file stems; '-' and '_' "
                "both become '_' in rule names)",
            )
        by_name[task.name] = task
        by_rule[rule_name(task.name)] = task
    return by_name


def _check_upstream(by_name: Mapping[str, Task]) -> None:
    for task in by_name.values():
        for name in task.upstream:
            if name in by_name and name != task.name:
                continue
            if name == task.name:
                raise Cycle(
                    f"notebook '{name}' lists itself as upstream",
                    path=task.source,
                    line=task.line_of("upstream"),
                    hint=f"remove '{name}' from its own upstream list",
                )
            raise UnknownUpstream(
                f"unknown upstream '{name}'",
                path=task.source,
                line=task.line_of("upstream"),
                hint=did_you_mean(name, by_name, "known notebooks"),
            )


def _check_products(by_name: Mapping[str, Task]) -> None:
    owners = _check_paths(by_name)
    folders = {path: task for path, (task, folder) in owners.items() if folder}
    for normal, (task, _) in owners.items():
        for parent in PurePosixPath(normal).parents:
            other = folders.get(str(parent))
            if other is not None:
                raise DuplicateProduct(
                    f"product {normal!r} lies inside folder product '{parent}/' of "
                    f"'{other.name}' ({other.source})",
                    path=task.source,
                    line=task.line_of("product"),
                    hint="a folder product owns everything under it; write this product "
                    "beside the folder, not in it",
                )


def _check_paths(by_name: Mapping[str, Task]) -> dict[str, tuple[Task, bool]]:
    """Every product path (normalised) → (its task, whether it is a folder)."""
    owners: dict[str, tuple[Task, bool]] = {}
    for task in by_name.values():
        rendered = {} if task.rendered is None else {"nb (its HTML rendering)": task.rendered}
        for key, path in {**task.products, **rendered}.items():
            if "{" in path or "}" in path:
                raise GraphError(
                    f"product '{key}' path {path!r} contains '{{' or '}}'",
                    path=task.source,
                    line=task.product_line(key),
                    hint="Snakemake would read braces as a wildcard; use another character",
                )
            normal = normalize_product(path)
            if normal is None:
                raise GraphError(
                    f"product '{key}' path {path!r} escapes the output folder",
                    path=task.source,
                    line=task.product_line(key),
                    hint="write product paths relative to the output root, without '..'",
                )
            found = owners.get(normal)
            if found is not None:
                other = found[0]
                raise DuplicateProduct(
                    f"product {path!r} is also declared by '{other.name}' ({other.source})",
                    path=task.source,
                    line=task.product_line(key),
                    hint="give every notebook its own product paths",
                )
            owners[normal] = (task, is_folder(path))
    return owners


def _toposort(by_name: Mapping[str, Task]) -> tuple[str, ...]:
    order: list[str] = []
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    for name in sorted(by_name):
        _visit(name, by_name, state, order, [])
    return tuple(order)


def _visit(
    name: str,
    by_name: Mapping[str, Task],
    state: dict[str, int],
    order: list[str],
    path: list[str],
) -> None:
    if state.get(name) == 2:
        return
    if state.get(name) == 1:
        cycle = [*path[path.index(name) :], name]
        task = by_name[name]
        raise Cycle(
            f"cycle in upstream: {' -> '.join(cycle)}",
            path=task.source,
            line=task.line_of("upstream"),
            hint="a notebook cannot depend on its own products; break one upstream link",
        )
    state[name] = 1
    path.append(name)
    for upstream in sorted(by_name[name].upstream):
        _visit(upstream, by_name, state, order, path)
    path.pop()
    state[name] = 2
    order.append(name)

"""Declarations of the tasks that are not notebooks: Python functions and shell scripts.

Nothing is imported or run here. A function is found by :mod:`ast` in its module's
file, and its ``upstream`` is what its body subscripts (``upstream["get"]``), as
Ploomber's ``extract_upstream`` reads it; a shell script's ``upstream`` is what its
``{{upstream['get']}}`` placeholders name.

In a Snakefile project, a module of the notebook folder declares function tasks with
the :func:`nbrules.task` decorator, read (never run) like a parameters cell::

    @task(upstream=["get"], product={"data": "clean.csv"})
    def clean(product, upstream, factor=10): ...

The task is named after the function; its keyword defaults are its parameters.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ..common.errors import DeclarationError
from ..common.notebooks import parse_python
from ..common.text import did_you_mean
from .declarations import RESERVED, ParametersCell, Task, task_from_cell

#: The decorator's name, as written: ``@task(...)`` or ``@nbrules.task(...)``.
DECORATOR = "task"
_DECORATOR_HINT = '@task(upstream=["get"], product={"data": "clean.csv"})'

_SCRIPT_UPSTREAM = re.compile(r"""upstream\s*\[\s*['"]([^'"]+)['"]\s*\]""")


@dataclass(frozen=True, slots=True)
class FunctionDef:
    """A top-level function of a module file: its line and the upstreams it reads."""

    line: int
    upstream: tuple[str, ...]
    parameters: tuple[str, ...]


def find_function(path: Path, name: str, shown: Path) -> FunctionDef:
    """The top-level ``def name`` of the module at ``path`` (``shown`` in messages)."""
    tree = parse_python(path.read_text(encoding="utf-8"), shown, 1)
    functions = {
        node.name: node
        for node in tree.body
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
    }
    node = functions.get(name)
    if node is None:
        raise DeclarationError(
            f"module defines no function '{name}'",
            path=shown,
            hint=did_you_mean(name, functions, "functions"),
        )
    params = tuple(a.arg for a in [*node.args.args, *node.args.kwonlyargs])
    return FunctionDef(node.lineno, _subscripted_upstream(node), params)


def _subscripted_upstream(node: ast.AST) -> tuple[str, ...]:
    found: list[str] = []
    for sub in ast.walk(node):
        if (
            isinstance(sub, ast.Subscript)
            and isinstance(sub.value, ast.Name)
            and sub.value.id == "upstream"
            and isinstance(sub.slice, ast.Constant)
            and isinstance(sub.slice.value, str)
            and sub.slice.value not in found
        ):
            found.append(sub.slice.value)
    return tuple(found)


def script_upstream(text: str) -> tuple[str, ...]:
    """The upstream names a shell script's placeholders read, in order of appearance."""
    return tuple(dict.fromkeys(_SCRIPT_UPSTREAM.findall(text)))


def declared_cell(line: int, upstream: tuple[str, ...]) -> ParametersCell:
    """What a notebook's parameters cell would say for a function or a script."""
    values = {"upstream": list(upstream) or None, "product": None}
    return ParametersCell(line, values, {"upstream": line, "product": line})


def discover_functions(folder: Path, known: Sequence[Task]) -> list[Task]:
    """The ``@task`` functions of the modules of ``folder`` that are not notebooks."""
    notebooks = {Path(task.source).name for task in known}
    found: list[Task] = []
    for path in sorted(folder.glob("*.py")):
        if path.name in notebooks or path.name.startswith(".") or not path.is_file():
            continue
        if f"{DECORATOR}(".encode() in path.read_bytes():
            found.extend(_decorated(path))
    return found


def _decorated(path: Path) -> Iterator[Task]:
    tree = parse_python(path.read_text(encoding="utf-8"), path, 1)
    names, modules = _nbrules_names(tree)
    for node in tree.body:
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for decorator in node.decorator_list:
            if isinstance(decorator, ast.Call) and _is_task(decorator.func, names, modules):
                yield _function_task(path, node, decorator)


def _nbrules_names(tree: ast.Module) -> tuple[set[str], set[str]]:
    """What the module calls nbrules' decorator (``from nbrules import task as t``) and
    nbrules itself (``import nbrules``): another ``@app.task`` is not ours."""
    names: set[str] = set()
    modules: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module == "nbrules" and not node.level:
            names |= {a.asname or a.name for a in node.names if a.name == DECORATOR}
        elif isinstance(node, ast.Import):
            modules |= {a.asname or a.name for a in node.names if a.name == "nbrules"}
    return names, modules


def _is_task(node: ast.expr, names: set[str], modules: set[str]) -> bool:
    if isinstance(node, ast.Name):
        return node.id in names
    return (
        isinstance(node, ast.Attribute)
        and node.attr == DECORATOR
        and isinstance(node.value, ast.Name)
        and node.value.id in modules
    )


def _function_task(
    path: Path, node: ast.FunctionDef | ast.AsyncFunctionDef, decorator: ast.Call
) -> Task:
    """The task a decorated function declares, validated like a parameters cell."""
    values: dict[str, Any] = {}
    lines: dict[str, int] = {}
    for keyword in decorator.keywords:
        if keyword.arg not in ("upstream", "product"):
            raise DeclarationError(
                f"@{DECORATOR}() takes upstream and product, not {keyword.arg or '**'}",
                path=path,
                line=decorator.lineno,
                hint=_DECORATOR_HINT + "; parameters are the function's keyword defaults",
            )
        values[keyword.arg] = _literal(keyword.value, keyword.arg, path)
        lines[keyword.arg] = keyword.value.lineno
    if decorator.args or "product" not in values:
        raise DeclarationError(
            f"@{DECORATOR}() needs product= (and upstream= when it reads upstreams)",
            path=path,
            line=decorator.lineno,
            hint=_DECORATOR_HINT,
        )
    values.update(_defaults(node, path))
    cell = ParametersCell(node.lineno, values, {**dict.fromkeys(values, node.lineno), **lines})
    task = task_from_cell(path, node.name, cell, report_notebook=False)
    return replace(task, kind="function", function=f"{path.stem}.{node.name}")


def _defaults(node: ast.FunctionDef | ast.AsyncFunctionDef, path: Path) -> dict[str, Any]:
    """The keyword defaults of the function (its parameters), as literals."""
    args = node.args
    positional = [*args.posonlyargs, *args.args]
    pairs = list(
        zip(positional[len(positional) - len(args.defaults) :], args.defaults, strict=True)
    )
    pairs += [
        (a, d) for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True) if d is not None
    ]
    return {
        arg.arg: _literal(default, arg.arg, path)
        for arg, default in pairs
        if arg.arg not in RESERVED
    }


def _literal(node: ast.expr, name: str, path: Path) -> Any:
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        raise DeclarationError(
            f"'{name}' must be a literal",
            path=path,
            line=node.lineno,
            hint="it is read, never executed: write a plain list/dict/string/number",
        ) from None

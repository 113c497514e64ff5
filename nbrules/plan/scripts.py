"""Declarations of the tasks that are not notebooks: Python functions and shell scripts.

Nothing is imported or run here. A function is found by :mod:`ast` in its module's
file, and its ``upstream`` is what its body subscripts (``upstream["get"]``), as
Ploomber's ``extract_upstream`` reads it; a shell script's ``upstream`` is what its
``{{upstream['get']}}`` placeholders name.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

from ..common.errors import DeclarationError
from ..common.notebooks import parse_python
from ..common.text import did_you_mean
from .declarations import ParametersCell

_SCRIPT_UPSTREAM = re.compile(r"""upstream\s*\[\s*['"]([^'"]+)['"]\s*\]""")


@dataclass(frozen=True, slots=True)
class FunctionDef:
    """A top-level function of a module file: its line and the upstreams it reads."""

    line: int
    upstream: tuple[str, ...]
    parameters: tuple[str, ...]


def module_file(module: str, roots: list[Path]) -> Path | None:
    """The file of dotted ``module`` under the first root that has it."""
    parts = module.split(".")
    for root in roots:
        base = root.joinpath(*parts)
        for path in (base.with_suffix(".py"), base / "__init__.py"):
            if path.is_file():
                return path
    return None


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

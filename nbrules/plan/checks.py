"""Integrity checks a notebook declares on its products, read from its parameters cell.

::

    checks = {
        "data": {                                    # a product key → its checks
            "rows": [1000, None],                    # at least 1000 rows, no maximum
            "columns": {"carrier": "string", "dep_delay": "int64"},
            "not_null": ["carrier", "origin"],
            "unique": ["carrier", "flight", "sched_dep"],   # one (composite) key
            "call": "flights.checks:plausible_delays",      # or a list of them
        },
    }

``rows``, ``columns``, ``not_null`` and ``unique`` read a Parquet or Arrow IPC
table (with pyarrow, after the notebook ran); ``call`` names functions of the
project's own modules (found on the kernel's import path), each called with the
product's path. A ``pipeline.yaml`` task's ``on_finish`` becomes a call on the
whole task (``product=None``), called as Ploomber calls it.

Every check and its settings enter the job spec (so the cache key); the code of a
called function's module enters the notebook's code digest, like a module it imports.
Nothing here imports pyarrow or the checked code: :mod:`nbrules.run.checks` runs them.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..cache.tables import TABLE_SUFFIXES
from ..common.errors import ConfigError, DeclarationError
from ..common.text import did_you_mean

TABLE_CHECKS = ("rows", "columns", "not_null", "unique")
KINDS = (*TABLE_CHECKS, "call")
_TARGET = re.compile(r"^([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*):([A-Za-z_]\w*)$")
_HINT = 'checks = {"data": {"rows": [1, None], "not_null": ["id"], "call": "pkg.checks:fn"}}'


@dataclass(frozen=True, slots=True)
class Check:
    """One check: on product ``product`` (``None``: the whole task), its settings.

    ``name`` is the kind (``rows``, …) or, for a call, its ``module:function`` target.
    """

    product: str | None
    name: str
    settings: Any = None

    @property
    def is_call(self) -> bool:
        return ":" in self.name

    @property
    def module(self) -> str:
        return self.name.partition(":")[0] if self.is_call else ""

    def to_json(self) -> dict[str, Any]:
        return {"product": self.product, "check": self.name, "settings": self.settings}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Check:
        return cls(data["product"], str(data["check"]), data.get("settings"))


def parse_checks(
    value: Any, products: Mapping[str, str], path: Path, line: int
) -> tuple[Check, ...]:
    """The checks of a parameters cell's ``checks`` value (``None``: none)."""
    if value is None:
        return ()
    if not isinstance(value, dict) or not all(isinstance(v, dict) for v in value.values()):
        raise DeclarationError(
            "'checks' must map product keys to dicts of checks", path=path, line=line, hint=_HINT
        )
    found: list[Check] = []
    for product, kinds in value.items():
        if product not in products:
            raise DeclarationError(
                f"'checks' names product {product!r}, which this notebook does not declare",
                path=path,
                line=line,
                hint=did_you_mean(str(product), products, "products"),
            )
        for kind, settings in kinds.items():
            found.extend(_one(product, kind, settings, products[product], path, line))
    return tuple(found)


def _one(product: str, kind: Any, settings: Any, target: str, path: Path, line: int) -> list[Check]:
    where = f"check {kind!r} on product {product!r}"
    if kind not in KINDS:
        raise DeclarationError(
            f"unknown check {kind!r} on product {product!r}",
            path=path,
            line=line,
            hint=did_you_mean(str(kind), KINDS, "checks"),
        )
    if kind in TABLE_CHECKS and not target.lower().endswith(TABLE_SUFFIXES):
        raise DeclarationError(
            f"{where} reads a table, but {target} is not Parquet or Arrow",
            path=path,
            line=line,
            hint=f"table checks apply to {', '.join(TABLE_SUFFIXES)} products; "
            "use 'call' with a function of your own for other files",
        )
    if kind == "call":
        calls = [settings] if isinstance(settings, str) else settings
        if not isinstance(calls, list) or not calls:
            raise DeclarationError(
                f"{where} must be 'module:function' or a list of them", path=path, line=line
            )
        return [Check(product, call_target(c, path, line)) for c in calls]
    return [Check(product, kind, _settings(kind, settings, where, path, line))]


def _settings(kind: str, value: Any, where: str, path: Path, line: int) -> Any:
    if kind == "rows":
        bounds = list(value) if isinstance(value, (list, tuple)) else None
        if bounds is None or len(bounds) != 2 or not all(_bound(b) for b in bounds):
            raise DeclarationError(
                f"{where} must be [min, max] (whole numbers or None), got {value!r}",
                path=path,
                line=line,
                hint='"rows": [1000, None]  (at least 1000 rows, no maximum)',
            )
        return bounds
    if kind == "columns":
        if isinstance(value, dict) and value and all(_names(value.items())):
            return dict(value)
        raise DeclarationError(
            f"{where} must map column names to type names, got {value!r}",
            path=path,
            line=line,
            hint='"columns": {"carrier": "string", "dep_delay": "int64"}',
        )
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, str) for v in value):
        return list(value)
    raise DeclarationError(
        f"{where} must be a list of column names, got {value!r}",
        path=path,
        line=line,
        hint=f'"{kind}": ["carrier", "flight"]',
    )


def _bound(value: Any) -> bool:
    return value is None or (isinstance(value, int) and not isinstance(value, bool) and value >= 0)


def _names(items: Iterable[tuple[Any, Any]]) -> Iterable[bool]:
    return (isinstance(k, str) and isinstance(v, str) and bool(v) for k, v in items)


def call_target(value: Any, path: Path, line: int | None) -> str:
    """``module:function`` (Ploomber's ``module.function`` is accepted and converted)."""
    text = str(value) if isinstance(value, str) else ""
    if ":" not in text and "." in text:
        module, _, function = text.rpartition(".")
        text = f"{module}:{function}"
    if not _TARGET.match(text):
        raise DeclarationError(
            f"check {value!r} is not 'module:function'",
            path=path,
            line=line,
            hint='"call": "flights.checks:plausible_delays"  (a function of your own package)',
        )
    return text


# ---------------------------------------------------------------- resolution


def check_calls(
    checks: Sequence[Check], search: Sequence[Path], source: Path, line: int | None
) -> None:
    """Every called function must be defined in a module of the project (``search``)."""
    for check in checks:
        if check.is_call:
            module, _, function = check.name.partition(":")
            _check_function(module, function, search, source, line)


def _check_function(
    module: str, function: str, search: Sequence[Path], source: Path, line: int | None
) -> None:
    file = module_file(module, search)
    if file is None:
        raise ConfigError(
            f"check '{module}:{function}': module '{module}' is not in the project",
            path=source,
            line=line,
            hint="checks call functions of your own modules, found on the kernel's import "
            f"path: {', '.join(str(p) for p in search)} (config nbrules: {{pythonpath: …}})",
        )
    try:
        names = top_level_names(ast.parse(file.read_text(encoding="utf-8")))
    except (OSError, SyntaxError, ValueError):
        return  # the kernel reports it properly when the check is called
    if function not in names:
        raise ConfigError(
            f"check '{module}:{function}': {file} defines no '{function}'",
            path=source,
            line=line,
            hint=did_you_mean(function, names, "defined there"),
        )


def module_file(module: str, search: Sequence[Path]) -> Path | None:
    """The source file of a project module (a ``.py`` or a package's ``__init__.py``)."""
    parts = module.split(".")
    for root in search:
        base = root.joinpath(*parts)
        for candidate in (base.with_suffix(".py"), base / "__init__.py"):
            if candidate.is_file():
                return candidate
    return None


def top_level_names(tree: ast.Module) -> set[str]:
    """Names a module binds at its top level (functions, classes, assignments, imports)."""
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(t.id for t in targets if isinstance(t, ast.Name))
    return names

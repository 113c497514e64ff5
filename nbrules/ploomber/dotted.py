"""``params`` and ``grid`` values given by a dotted path, as Ploomber's ``DottedPath``.

A value ``'my_module::make_grid'`` or ``{dotted_path: my_module::make_grid, n: 3}``
names a function of the project; it is called when the spec is read, with the
mapping's other keys as keyword arguments, and what it returns is the value. The
returned value is what enters the notebook's injected cell and the cache key: a
function that returns something else next time reruns the task, one whose code
changes but whose value does not reruns nothing. As in Ploomber, only top-level
values are called (a nested mapping is passed as it is) and ``None`` is refused.

The function is imported from the project folder (the folder of ``pipeline.yaml``),
or from an installed package.
"""

from __future__ import annotations

import contextlib
import importlib
import re
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from ..common.errors import ConfigError

#: Ploomber's strict form: ``package.module::function``.
_STRICT = re.compile(r"^[A-Za-z_][\w.]*::[A-Za-z_]\w*$")
#: The mapping form also takes ``package.module.function``.
_LOOSE = re.compile(r"^[A-Za-z_][\w.]*\.[A-Za-z_]\w*$")
_HINT = "params: {values: {dotted_path: my_module::values, n: 3}}  (a function of the project)"


def is_dotted(value: Any) -> bool:
    """Whether Ploomber would call ``value`` (a top-level params or grid value)."""
    if isinstance(value, Mapping):
        return "dotted_path" in value
    return isinstance(value, str) and bool(_STRICT.match(value))


def call(value: Any, what: str, where: Path, line: int | None, root: Path) -> Any:
    """The value of a dotted-path ``value``; errors name ``what`` at ``where:line``."""
    kwargs = {str(k): v for k, v in value.items()} if isinstance(value, Mapping) else {}
    target = kwargs.pop("dotted_path", value)
    if not isinstance(target, str) or not (_STRICT.match(target) or _LOOSE.match(target)):
        raise ConfigError(
            f"{what}: dotted_path {target!r} is not 'module::function'",
            path=where,
            line=line,
            hint=_HINT,
        )
    module, sep, name = target.partition("::")
    if not sep:
        module, _, name = target.rpartition(".")
    function = _load(module, name, what, where, line, root)
    try:
        out = function(**kwargs)
    except Exception as exc:
        raise ConfigError(
            f"{what}: {target}({_signature(kwargs)}) raised {type(exc).__name__}: {exc}",
            path=where,
            line=line,
            hint="the function is called when the spec is read; fix it or its arguments",
        ) from exc
    if out is None:
        raise ConfigError(
            f"{what}: {target}({_signature(kwargs)}) returned None",
            path=where,
            line=line,
            hint="return the parameter's value (Ploomber refuses None too)",
        )
    bad = _not_literal(out)
    if bad is not None:
        raise ConfigError(
            f"{what}: {target} returned a {type(bad).__name__}, which cannot be injected "
            "into a notebook as a literal",
            path=where,
            line=line,
            hint="return plain values (str, int, float, bool, lists and dicts of them); "
            "load data inside the notebook",
        )
    return out


def _load(module: str, name: str, what: str, where: Path, line: int | None, root: Path) -> Any:
    local = root / f"{module.replace('.', '/')}.py"
    cached = sys.modules.get(module)
    if cached is not None and local.is_file() and getattr(cached, "__file__", None) != str(local):
        del sys.modules[module]  # another project's module of that name (a long-lived process)
    try:
        with _importable(root):
            loaded = importlib.import_module(module)
    except ImportError as exc:
        raise ConfigError(
            f"{what}: cannot import module '{module}': {exc}",
            path=where,
            line=line,
            hint=f"put {module.replace('.', '/')}.py in the project folder, or install "
            "its package in this environment",
        ) from exc
    function = getattr(loaded, name, None)
    if not callable(function):
        raise ConfigError(
            f"{what}: module '{module}' has no function '{name}'",
            path=where,
            line=line,
            hint=f"define def {name}(...) in {module.replace('.', '/')}.py",
        )
    return function


@contextlib.contextmanager
def _importable(root: Path) -> Iterator[None]:
    """``root`` first on ``sys.path`` while importing (as Ploomber adds the spec's folder)."""
    entry = str(root)
    added = entry not in sys.path
    if added:
        sys.path.insert(0, entry)
    try:
        yield
    finally:
        if added and entry in sys.path:
            sys.path.remove(entry)


def _signature(kwargs: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in kwargs.items())


def _not_literal(value: Any) -> Any:
    """The first part of ``value`` that is not a plain literal, or None."""
    if value is None or isinstance(value, (str, bool, int, float)):
        return None
    if isinstance(value, (list, tuple)):
        return next((b for b in map(_not_literal, value) if b is not None), None)
    if isinstance(value, Mapping):
        if not all(isinstance(k, str) for k in value):
            return value
        return next((b for b in map(_not_literal, value.values()) if b is not None), None)
    return value

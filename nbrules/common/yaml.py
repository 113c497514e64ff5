"""YAML with line numbers, so that a bad value is reported at its ``file:line``.

:func:`read_yaml` parses with PyYAML's ``SafeLoader`` (no arbitrary objects);
mappings come back as :class:`YamlMap`, a ``dict`` that remembers its own line and
the line of each key. :func:`merge` deep-merges two mappings keeping those lines;
:func:`locate` finds which of several config files set a (nested) key, and where.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from .errors import ConfigError


class YamlMap(dict[Any, Any]):
    """A YAML mapping that remembers the line of itself and of each key."""

    __slots__ = ("line", "lines")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.line = 0
        self.lines: dict[Any, int] = {}

    def line_of(self, key: Any) -> int:
        return self.lines.get(key, self.line)


def line_of(data: Any, key: Any, default: int = 0) -> int:
    """The line of ``key`` in ``data`` if it is a :class:`YamlMap`, else ``default``."""
    return data.line_of(key) if isinstance(data, YamlMap) else default


class _LineLoader(yaml.SafeLoader):  # type: ignore[misc]
    """SafeLoader whose mappings are :class:`YamlMap`."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> YamlMap:
    loader.flatten_mapping(node)
    data = YamlMap()
    data.line = node.start_mark.line + 1
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        data[key] = loader.construct_object(value_node, deep=True)
        data.lines[key] = key_node.start_mark.line + 1
    return data


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def parse_yaml(text: str, shown: Path) -> Any:
    """Parse YAML text; errors name ``shown`` and the line."""
    try:
        return yaml.load(text, Loader=_LineLoader)  # a SafeLoader: no arbitrary objects
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        hint = (
            'quote values that start with a placeholder: key: "{{placeholder}}"'
            if "{{" in text
            else "fix the YAML syntax"
        )
        raise ConfigError(
            f"invalid YAML: {getattr(exc, 'problem', None) or exc}",
            path=shown,
            line=mark.line + 1 if mark is not None else None,
            hint=hint,
        ) from exc


def read_yaml(path: Path, shown: Path | None = None) -> Any:
    """Parse a YAML file; ``shown`` is how messages name it (default: ``path``)."""
    shown = shown or path
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", path=shown) from exc
    return parse_yaml(text, shown)


def merge(base: Mapping[Any, Any], top: Mapping[Any, Any]) -> YamlMap:
    """``top`` over ``base``, recursively (new objects); line numbers kept for messages."""
    out = YamlMap(base)
    out.lines = {**getattr(base, "lines", {}), **getattr(top, "lines", {})}
    out.line = getattr(top, "line", 0) or getattr(base, "line", 0)
    for key, value in top.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def locate(files: Sequence[Path], keys: Iterable[str]) -> tuple[Path | None, int | None]:
    """The last of ``files`` that sets the nested key ``keys``, and its line there.

    ``(None, None)`` when no file sets it (a ``--config`` value, a default). Files
    that cannot be read are skipped: this only decorates an error message.
    """
    path = tuple(keys)
    for file in reversed(list(files)):
        try:
            data = read_yaml(Path(file))
        except ConfigError:
            continue
        line = _line_in(data, path)
        if line:
            return Path(file), line
    return None, None


def _line_in(data: Any, keys: tuple[str, ...]) -> int:
    line = 0
    for key in keys:
        if not isinstance(data, YamlMap) or key not in data:
            return 0
        line = data.line_of(key)
        data = data[key]
    return line

"""Ploomber's ``env.yaml`` and the ``{{placeholder}}`` values of ``pipeline.yaml``.

The semantics follow Ploomber's ``EnvDict``/``expand`` so a project renders the
same values under ``nbrules build`` as under ``ploomber build``:

- ``env.yaml`` beside ``pipeline.yaml`` maps keys to values; any string in
  ``pipeline.yaml`` (or in another env value) may use them as Jinja placeholders,
  ``'data/{{sample}}.csv'`` or ``'{{path.raw}}'`` for a nested key.
- Built-in placeholders: ``here`` (the folder of ``pipeline.yaml``), ``root`` (the
  project folder), ``cwd``, ``user``, ``now`` (ISO timestamp, fixed for one build),
  ``git`` (branch, or hash when detached) and ``git_hash`` (``git describe``), the
  last two only inside a git repository. An env key of the same name wins.
- After rendering, a string that reads as a Python literal becomes it, exactly as
  Ploomber's ``cast_if_possible``: ``'true'``/``'false'`` → bool, ``'none'``/``'null'``
  → None, ``'10'`` → 10, ``'[1, 2]'`` → a list. A value that is exactly one
  placeholder keeps the env value itself (``'{{sample}}'`` → ``False``); inside a
  longer string a value renders with ``str()`` (``'sample={{sample}}'`` →
  ``'sample=False'``).
- ``meta: {import_from: base.yaml}`` in an env file merges another env file under it;
  values under a top-level ``path:`` key have ``~`` expanded.
- An undefined placeholder is an error naming the key, with a did-you-mean.
"""

from __future__ import annotations

import ast
import copy
import getpass
import re
import subprocess
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jinja2 import StrictUndefined, TemplateError, meta
from jinja2.sandbox import SandboxedEnvironment

from ..common.errors import ConfigError
from ..common.files import relative_if_inside
from ..common.text import did_you_mean
from ..common.yaml import YamlMap, merge, read_yaml

BUILTINS = ("here", "root", "cwd", "user", "now", "git", "git_hash")
_ONE = re.compile(r"^\s*\{\{\s*([A-Za-z_]\w*)\s*\}\}\s*$")
#: Sandboxed: an env.yaml is data; a template expression must not reach Python's
#: internals (e.g. run a shell command while the pipeline is being read).
_JINJA = SandboxedEnvironment(
    undefined=StrictUndefined, keep_trailing_newline=True, autoescape=False
)


def cast_if_possible(value: Any) -> Any:
    """Ploomber's cast of rendered strings: booleans, None and Python literals."""
    if not isinstance(value, str):
        return value
    lower = value.lower()
    if lower in ("true", "false"):
        return lower == "true"
    if lower in ("none", "null"):
        return None
    try:
        return ast.literal_eval(value)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return value


def placeholders_in(text: str) -> set[str]:
    """The names a string uses as ``{{placeholders}}`` (``[[runtime]]`` ones excluded)."""
    try:
        return set(meta.find_undeclared_variables(_JINJA.parse(text)))
    except TemplateError:
        return set()


@dataclass(frozen=True, slots=True)
class Context:
    """What the built-in placeholders resolve to for one build."""

    here: Path
    root: Path
    cwd: Path
    now: str


@dataclass(frozen=True, slots=True)
class Env:
    """Rendered env values (built-ins included) and the file they came from."""

    values: Mapping[str, Any]
    path: Path | None = None
    keys: frozenset[str] = field(default_factory=frozenset)

    def render(self, value: Any, path: Path, line: int | None) -> Any:
        """Render every string in ``value`` (recursively) and cast it like Ploomber."""
        if isinstance(value, Mapping):
            out = YamlMap(
                {k: self.render(v, path, _line(value, k, line)) for k, v in value.items()}
            )
            if isinstance(value, YamlMap):
                out.line, out.lines = value.line, dict(value.lines)
            return out
        if isinstance(value, list):
            return [self.render(v, path, line) for v in value]
        if isinstance(value, str):
            return self.render_text(value, path, line, cast=True)
        return value

    def render_text(self, text: str, path: Path, line: int | None, *, cast: bool) -> Any:
        names = placeholders_in(text)
        if not names:
            return cast_if_possible(text) if cast else text
        self._check_defined(names, path, line)
        one = _ONE.match(text)
        if one and cast:
            return copy.deepcopy(self.values[one.group(1)])
        try:
            rendered = _JINJA.from_string(text).render({n: self.values[n] for n in names})
        except TemplateError as exc:
            raise ConfigError(f"cannot render {text!r}: {exc}", path=path, line=line) from exc
        return cast_if_possible(rendered) if cast else rendered

    def _check_defined(self, names: set[str], path: Path, line: int | None) -> None:
        for name in sorted(names - set(self.values)):
            known = sorted(self.keys | set(self.values))
            where = f"{self.path.name}" if self.path else "env.yaml (there is none)"
            raise ConfigError(
                f"undefined placeholder '{{{{{name}}}}}'",
                path=path,
                line=line,
                hint=did_you_mean(
                    name, known, fallback=f"define '{name}' in {where}, or pass --env--{name} VALUE"
                ),
            )


def _line(value: Mapping[Any, Any], key: Any, default: int | None) -> int | None:
    return value.line_of(key) if isinstance(value, YamlMap) else default


def load_env(
    ctx: Context,
    env_file: Path | None,
    overrides: Mapping[str, Any] | None = None,
    overrides_from: str = "--env",
) -> Env:
    """Read ``env_file`` (if any), apply overrides, render every value."""
    raw: dict[str, Any] = {}
    shown = relative_if_inside(env_file or ctx.here / "env.yaml", ctx.root)
    if env_file is not None:
        raw = _read_env_file(env_file, shown)
    if overrides:
        raw = _apply_overrides(raw, overrides, shown if env_file else None, overrides_from)
    builtins = _builtins(ctx)
    resolver = _Resolver(raw, builtins, shown)
    for key in raw:
        resolver.value(key)
    return Env(_Values(resolver), env_file, frozenset(raw))


class _Values(Mapping[str, Any]):
    """Env values; built-ins (``git`` runs a subprocess) are computed when first used."""

    def __init__(self, resolver: _Resolver) -> None:
        self._resolver = resolver
        self._keys = [*resolver.builtins, *(k for k in resolver.raw if k not in resolver.builtins)]

    def __getitem__(self, key: str) -> Any:
        if key not in self._resolver.raw and key not in self._resolver.builtins:
            raise KeyError(key)
        return self._resolver.value(key)

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)


def _read_env_file(path: Path, shown: Path) -> dict[str, Any]:
    data = read_yaml(path, shown)
    if data is None:
        return {}
    if not isinstance(data, YamlMap):
        raise ConfigError(
            f"an env file must be a mapping of keys, got {type(data).__name__}",
            path=shown,
            hint="sample: false",
        )
    base = _env_import(data.get("meta"), path, shown)
    for key in data:
        if key != "meta":
            _check_env_key(key, shown, data)
    own = YamlMap({k: v for k, v in data.items() if k != "meta"})
    own.line, own.lines = data.line, data.lines
    return merge(base, own)


def _env_import(section: Any, path: Path, shown: Path) -> dict[str, Any]:
    if section is None:
        return {}
    if not isinstance(section, Mapping) or set(section) - {"import_from"}:
        raise ConfigError(
            "env 'meta' may only hold 'import_from'",
            path=shown,
            hint="meta: {import_from: base.yaml}",
        )
    other = path.parent / str(section["import_from"])
    if not other.is_file():
        raise ConfigError(
            f"env meta.import_from: {other.name} does not exist",
            path=shown,
            line=_line(section, "import_from", None),
        )
    return _read_env_file(other, shown.parent / other.name)


def _check_env_key(key: Any, path: Path, data: Mapping[Any, Any]) -> None:
    if not isinstance(key, str) or "__" in key or (key.startswith("_") and key != "_module"):
        raise ConfigError(
            f"invalid env key {key!r}",
            path=path,
            line=_line(data, key, None),
            hint="env keys are names without a leading '_' or a double '__'",
        )


def _apply_overrides(
    raw: dict[str, Any], overrides: Mapping[str, Any], env_file: Path | None, origin: str
) -> dict[str, Any]:
    """Deep-merge overrides; with an env file, an unknown key is an error (a typo)."""
    if env_file is not None:
        _check_known(raw, overrides, env_file, origin, prefix="")
    return merge(raw, dict(overrides))


def _check_known(
    raw: Mapping[str, Any], overrides: Mapping[str, Any], env_file: Path, origin: str, prefix: str
) -> None:
    for key, value in overrides.items():
        if key not in raw and f"{prefix}{key}" not in BUILTINS:
            raise ConfigError(
                f"{origin} sets env key '{prefix}{key}', which {env_file.name} does not define",
                path=env_file,
                hint=did_you_mean(
                    str(key), raw, prefix=prefix, fallback=f"add '{key}' to {env_file.name} first"
                ),
            )
        if isinstance(value, Mapping) and isinstance(raw[key], Mapping):
            _check_known(raw[key], value, env_file, origin, prefix=f"{prefix}{key}.")


class _Resolver:
    """Renders env values on demand, so a value may use any other key (no cycles)."""

    def __init__(
        self, raw: Mapping[str, Any], builtins: Mapping[str, Callable[[], str]], path: Path
    ) -> None:
        self.raw = raw
        self.builtins = builtins
        self.path = path
        self.done: dict[str, Any] = {}
        self.active: list[str] = []

    def value(self, key: str) -> Any:
        if key in self.done:
            return self.done[key]
        if key in self.active:
            cycle = " -> ".join([*self.active[self.active.index(key) :], key])
            raise ConfigError(f"env placeholders refer to each other: {cycle}", path=self.path)
        if key not in self.raw:
            self.done[key] = self.builtins[key]()
            return self.done[key]
        self.active.append(key)
        try:
            rendered = self._render(self.raw[key], key == "path", _line(self.raw, key, None))
        finally:
            self.active.pop()
        self.done[key] = rendered
        return rendered

    def _render(self, value: Any, is_path: bool, line: int | None) -> Any:
        if isinstance(value, Mapping):
            return {k: self._render(v, is_path, _line(value, k, line)) for k, v in value.items()}
        if isinstance(value, list):
            return [self._render(v, is_path, line) for v in value]
        if not isinstance(value, str):
            return value
        names = placeholders_in(value)
        env = Env(
            {name: self._lookup(name, line) for name in names},
            self.path,
            frozenset(self.raw) | frozenset(self.builtins),
        )
        rendered = env.render_text(value, self.path, line, cast=not is_path)
        return str(Path(str(rendered)).expanduser()) if is_path else rendered

    def _lookup(self, name: str, line: int | None) -> Any:
        if name in self.raw or name in self.builtins:
            return self.value(name)
        known = sorted(set(self.raw) | set(self.builtins))
        raise ConfigError(
            f"undefined placeholder '{{{{{name}}}}}'",
            path=self.path,
            line=line,
            hint=did_you_mean(name, known, fallback=f"define '{name}' in env.yaml"),
        )


def _builtins(ctx: Context) -> dict[str, Callable[[], str]]:
    found: dict[str, Callable[[], str]] = {
        "here": lambda: str(ctx.here),
        "root": lambda: str(ctx.root),
        "cwd": lambda: str(ctx.cwd),
        "user": getpass.getuser,
        "now": lambda: ctx.now,
    }
    if _git(ctx.here, "rev-parse", "--git-dir") is not None:
        found["git_hash"] = lambda: _git_or_fail(
            ctx.here, "describe", "--tags", "--always", "--dirty=-dirty"
        )
        found["git"] = lambda: (
            _git(ctx.here, "symbolic-ref", "--short", "HEAD") or found["git_hash"]()
        )
    return found


def _git(folder: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", "-C", str(folder), *args],
            capture_output=True,
            text=True,
            check=False,
            timeout=30,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def _git_or_fail(folder: Path, *args: str) -> str:
    value = _git(folder, *args)
    if value is None:
        raise ConfigError(
            "placeholders {{git}} and {{git_hash}} need a git commit",
            path=folder,
            hint="commit once, or define the key in env.yaml",
        )
    return value

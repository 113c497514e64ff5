"""Config (profiles) → resolved product paths, parameters and job specs.

The Snakemake ``config`` dict (usually a profile's ``configfile:``) may hold::

    results: results/sample          # output root, relative to the working directory
                                     # ('.': the directory itself, as for pipeline.yaml)
    logs: logs/sample                # job logs (default: logs/<name of results>)
    params:                          # overrides for every notebook declaring the name
      sample_frac: 0.01
    tasks:                           # per-notebook overrides
      fit-model:
        params: {n_estimators: 50}
        resources: {threads: 2}
    nbrules:                         # engine settings
      notebooks: notebooks           # folder of notebooks, relative to the Snakefile
      pythonpath: [src]              # extra kernel import paths, relative to the Snakefile
      kernel: python3
      cache: .nbrules/cache          # product cache ($NBRULES_CACHE wins; see nbrules/cache.py)
      cache_verify: false            # re-hash restored files
      cache_link: copy               # or hardlink / symlink (opt-in: never edit products in place)
      cache_packages: false          # key on installed versions of imported distributions
"""

from __future__ import annotations

import ast
import difflib
import json
from collections.abc import Collection, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from .declarations import NB_KEY, Task
from .errors import ConfigError

DEFAULT_KERNEL = "python3"
KNOWN_TOP = ("results", "logs", "params", "tasks", "nbrules")
KNOWN_ENGINE = ("notebooks", "pythonpath", "kernel", "cache", "cache_verify", "cache_link",
                "cache_packages")


def canonical_json(value: Any) -> str:
    """Deterministic JSON (sorted keys, no spaces): what rule params must be."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


@dataclass(frozen=True, slots=True)
class Settings:
    """Engine-wide settings resolved from config; paths relative to the working dir."""

    results: str = "results"
    logs: str = "logs/results"
    notebooks: str = "notebooks"
    pythonpath: tuple[str, ...] = ()
    kernel: str = DEFAULT_KERNEL
    params: Mapping[str, Any] = field(default_factory=dict)
    tasks: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    engine: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class JobSpec:
    """Everything the executor needs to run one notebook; JSON-serialisable.

    All paths are POSIX strings relative to the working directory. ``key_inputs``
    are the files whose content enters the cache key (upstream data products and
    executed notebooks the code reads); ``order_inputs`` only order the jobs.
    """

    name: str
    source: str
    products: dict[str, str]
    single: bool
    upstream: dict[str, Any]
    key_inputs: dict[str, str]
    order_inputs: list[str]
    params: dict[str, Any]
    log: str
    kernel: str
    pythonpath: list[str]
    results: str
    engine: dict[str, Any]

    def to_json_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return canonical_json(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> JobSpec:
        return cls(**json.loads(text))

    @classmethod
    def from_parts(cls, spec: str, values: str | None = None) -> JobSpec:
        """A spec from the rule's ``params.spec`` and, apart, ``params.values``."""
        fields = json.loads(spec)
        if values is not None:
            fields["params"] = json.loads(values)
        return cls(**fields)

    @property
    def relative_products(self) -> dict[str, str]:
        """Product paths relative to the output root (stable across profiles/checkouts)."""
        root = PurePosixPath(self.results)
        return {k: str(PurePosixPath(v).relative_to(root)) for k, v in self.products.items()}


def settings(config: Mapping[str, Any], snakefile_dir: Path, cwd: Path) -> Settings:
    """Read nbrules' keys from a Snakemake config dict."""
    _check_keys(config, KNOWN_TOP, "config", strict=False)
    engine = dict(config.get("nbrules") or {})
    _check_keys(engine, KNOWN_ENGINE, "config key 'nbrules'", strict=True)
    root = config.get("results")
    results = _rel(str("results" if root is None else root), cwd, "results")
    logs = config.get("logs") or f"logs/{PurePosixPath(results).name or 'results'}"
    base = _relative_to(snakefile_dir, cwd)
    notebooks = str(base / engine.get("notebooks", "notebooks"))
    pythonpath = tuple(str(base / p) for p in _as_list(engine.get("pythonpath", [])))
    return Settings(
        results=results,
        logs=_rel(str(logs), cwd, "logs"),
        notebooks=notebooks,
        pythonpath=pythonpath,
        kernel=str(engine.get("kernel", DEFAULT_KERNEL)),
        params=_mapping(config.get("params"), "params"),
        tasks=_mapping(config.get("tasks"), "tasks"),
        engine={k: v for k, v in engine.items() if k not in ("notebooks", "pythonpath")},
    )


def resolve_params(task: Task, s: Settings) -> dict[str, Any]:
    """A task's parameter values: declared defaults, then global, then per-task config.

    A default that would not survive the JSON job spec (a tuple, a set, a dict with
    non-string keys) is left out: the notebook's own parameters cell sets it anyway.
    """
    values = {k: v for k, v in task.params.items() if _survives_json(v)}
    values.update({k: v for k, v in s.params.items() if k in task.declared})
    own = _mapping(s.tasks.get(task.name, {}), f"tasks.{task.name}")
    for name, value in _mapping(own.get("params"), f"tasks.{task.name}.params").items():
        if name not in task.declared:
            close = difflib.get_close_matches(name, sorted(task.declared), n=1)
            raise ConfigError(
                f"config sets parameter '{name}' of notebook '{task.name}', "
                "which its parameters cell does not declare",
                path=task.source,
                line=task.line,
                hint=f"did you mean '{close[0]}'?" if close else
                f"declare '{name} = <default>' in the parameters cell of {task.source}",
            )
        values[name] = value
    for name, value in values.items():
        check_literal(value, f"parameter '{name}' of notebook '{task.name}'", task)
    return values


def check_literal(value: Any, what: str, task: Task) -> None:
    """Parameters are injected as ``repr``; only values that round-trip may pass."""
    text = repr(value)
    try:
        ok = ast.literal_eval(text) == value and _survives_json(value)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        ok = False
    if not ok:
        raise ConfigError(
            f"{what} is {type(value).__name__} {text[:60]}, not a plain literal",
            path=task.source,
            line=task.line,
            hint="use None, bool, int, finite float, str, or lists and string-keyed dicts "
            "of those",
        )


def check_names(s: Settings, tasks: Collection[Task]) -> None:
    """Config entries must name a notebook (``tasks:``) or a declared parameter (``params:``)."""
    names = sorted(task.name for task in tasks)
    for name in s.tasks:
        if name not in names:
            raise ConfigError(
                f"config key 'tasks' names unknown notebook '{name}'",
                hint=_did_you_mean(str(name), names, "known notebooks"),
            )
    declared = sorted(set().union(*(task.declared for task in tasks)))
    for name in s.params:
        if name not in declared:
            raise ConfigError(
                f"config key 'params' sets '{name}', which no notebook declares",
                hint=_did_you_mean(str(name), declared, "declared parameters"),
            )


def _did_you_mean(name: str, known: list[str], what: str) -> str:
    close = difflib.get_close_matches(name, known, n=1)
    return f"did you mean '{close[0]}'?" if close else f"{what}: {', '.join(known) or '(none)'}"


def _survives_json(value: Any) -> bool:
    """The job spec travels as JSON: tuples, sets and non-string keys would change."""
    try:
        return bool(json.loads(json.dumps(value, allow_nan=False)) == value)
    except (TypeError, ValueError, RecursionError):
        return False


def product_paths(task: Task, s: Settings) -> dict[str, str]:
    root = PurePosixPath(s.results)
    return {k: str(root / PurePosixPath(v)) for k, v in task.products.items()}


def job_spec(
    task: Task,
    upstream_tasks: Mapping[str, Task],
    s: Settings,
    reads_nb: frozenset[str] = frozenset(),
) -> JobSpec:
    """Resolve one task against its upstreams and settings."""
    injected: dict[str, Any] = {}
    key_inputs: dict[str, str] = {}
    order_inputs: list[str] = []
    for name in task.upstream:
        up = upstream_tasks[name]
        paths = product_paths(up, s)
        value = paths[NB_KEY] if up.single else paths
        group = task.groups.get(name)
        if group is None:
            injected[name] = value
        else:
            injected.setdefault(group, {})[name] = value
        for key, path in paths.items():
            if key != NB_KEY or name in reads_nb:
                key_inputs[f"{name}/{key}"] = path
            elif len(paths) == 1:
                order_inputs.append(path)
    return JobSpec(
        name=task.name,
        source=str(PurePosixPath(task.source)),
        products=product_paths(task, s),
        single=task.single,
        upstream=injected,
        key_inputs=key_inputs,
        order_inputs=order_inputs,
        params=resolve_params(task, s),
        log=str(PurePosixPath(s.logs) / f"{task.name}.log"),
        kernel=s.kernel,
        pythonpath=[s.notebooks, *s.pythonpath],
        results=s.results,
        engine=dict(s.engine),
    )


def _check_keys(
    mapping: Mapping[str, Any], known: tuple[str, ...], where: str, *, strict: bool
) -> None:
    if not isinstance(mapping, Mapping):
        raise ConfigError(f"{where} must be a mapping, got {type(mapping).__name__}")
    if not strict:
        return
    for key in mapping:
        if key not in known:
            close = difflib.get_close_matches(str(key), known, n=1)
            raise ConfigError(
                f"unknown {where} entry '{key}'",
                hint=f"did you mean '{close[0]}'?" if close else f"known: {', '.join(known)}",
            )


def _mapping(value: Any, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ConfigError(
            f"config key '{where}' must be a mapping, got {value!r}",
            hint=f"write '{where}:' as a YAML mapping of name: value",
        )
    return dict(value)


def _as_list(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else [str(v) for v in value]


def _relative_to(path: Path, cwd: Path) -> PurePosixPath:
    try:
        return PurePosixPath(path.resolve().relative_to(cwd.resolve()).as_posix())
    except ValueError:
        return PurePosixPath(path.resolve().as_posix())


def _rel(value: str, cwd: Path, key: str) -> str:
    path = Path(value)
    if path.is_absolute():
        return str(_relative_to(path, cwd))
    normal = PurePosixPath(*path.parts) if path.parts else PurePosixPath(".")
    if key == "results" and value.strip() == ".":
        return "."  # products relative to the working directory (pipeline.yaml projects)
    if not str(normal) or str(normal) == ".":
        raise ConfigError(
            f"config key '{key}' must name a folder, got {value!r}",
            hint=f"e.g. {key}: {key}/sample",
        )
    return str(normal)

"""Config (a Snakemake ``config`` dict, usually from a profile) → typed, frozen settings.

Read once, when Snakemake parses the Snakefile; a bad value stops the parse at the
config file and line that set it (``profiles/sample/data.yaml:9: …`` plus a hint),
never later inside a job. The keys::

    results: results/sample          # output root, relative to the working directory
                                     # ('.': the directory itself, as for pipeline.yaml)
    logs: logs/sample                # job logs (default: logs/<name of results>)
    params:                          # overrides for every notebook declaring the name
      sample_frac: 0.01
    tasks:                           # per-notebook overrides
      fit-model:
        params: {n_estimators: 50}
        resources: {threads: 2}
        group: train
        engine: kernel               # this notebook's engine
    nbrules:                         # engine and cache settings
      notebooks: notebooks           # folder of notebooks, relative to the Snakefile
      pythonpath: [src]              # extra kernel import paths, relative to the Snakefile
      kernel: python3
      engine: kernel                 # or inprocess ($NBRULES_ENGINE wins)
      cache: .nbrules/cache          # product cache ($NBRULES_CACHE wins)
      cache_verify: false            # re-hash linked objects even when this host checked them
      cache_link: copy               # or hardlink / symlink
      cache_packages: false          # key on installed versions of imported distributions
      cache_lease_timeout: 120       # seconds without heartbeat before a lease is taken over

Each dataclass field documents itself (``metadata["help"]``), in the spirit of
snakemake-executor-plugin-slurm's ``ExecutorSettings``. Only what changes products
enters a rule's params (see :mod:`nbrules.plan.jobspec`); :class:`CacheSettings`
never does: it reaches jobs through ``$NBRULES_RUNTIME``, so toggling
``cache_verify`` reschedules nothing. The engine does not change products either: the
choice (:class:`EngineChoice`) reaches jobs through ``$NBRULES_ENGINES``.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path, PurePosixPath
from typing import Any, NoReturn, TypeVar

from ..common.errors import ConfigError
from ..common.files import relative_if_inside
from ..common.text import canonical_json, did_you_mean
from ..common.yaml import locate
from .declarations import Task

_T = TypeVar("_T")
DEFAULT_KERNEL = "python3"
#: Seconds a lease may go without a heartbeat (:mod:`nbrules.cache.lease`).
DEFAULT_LEASE_TIMEOUT = 120.0
LINK_MODES = ("copy", "hardlink", "symlink")
#: Engines (:mod:`nbrules.engines`): a Jupyter kernel, or this process.
ENGINE_NAMES = ("kernel", "inprocess")
DEFAULT_ENGINE = "kernel"
#: The build's engine choice, for its jobs (JSON of :class:`EngineChoice`).
ENV_ENGINES = "NBRULES_ENGINES"
#: One engine for every notebook of a build (``nbrules build --engine``); beats config.
ENV_ENGINE = "NBRULES_ENGINE"
#: Cache settings of the build, for its jobs (JSON of :class:`CacheSettings`).
ENV_RUNTIME = "NBRULES_RUNTIME"


def _help(text: str) -> dict[str, str]:
    return {"help": text}


def _from_env(
    name: str, environ: Mapping[str, str] | None, build: Callable[[Any], _T]
) -> _T | None:
    """The value a build passed its jobs as JSON in ``$name`` (``None``: not set)."""
    text = (os.environ if environ is None else environ).get(name)
    if not text:
        return None
    try:
        return build(json.loads(text))
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise ConfigError(
            f"${name} is not valid: {exc}",
            hint=f"unset {name}; Snakemake sets it for its jobs",
        ) from exc


@dataclass(frozen=True, slots=True)
class CacheSettings:
    """The ``nbrules: cache*`` keys: where and how products are cached, never what."""

    root: str | None = field(
        default=None,
        metadata=_help("store folder, relative to the working directory ($NBRULES_CACHE wins)"),
    )
    verify: bool = field(
        default=False,
        metadata=_help(
            "re-hash linked and reflinked objects on every restore, even when this host "
            "hashed them before (copies are always hashed while copied)"
        ),
    )
    link: str = field(
        default="copy",
        metadata=_help(
            "copy, hardlink or symlink restored products (links: never edit products in place)"
        ),
    )
    packages: bool = field(
        default=False,
        metadata=_help("add the installed versions of the imported distributions to the key"),
    )
    lease_timeout: float = field(
        default=DEFAULT_LEASE_TIMEOUT,
        metadata=_help(
            "seconds without a heartbeat after which another build takes over a key's lease"
        ),
    )

    def to_env(self) -> str:
        return canonical_json(asdict(self))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> CacheSettings:
        """The build's cache settings as its jobs see them (defaults outside a build)."""
        found = _from_env(
            ENV_RUNTIME,
            environ,
            lambda data: cls(**{f.name: data[f.name] for f in fields(cls) if f.name in data}),
        )
        return found or cls()


@dataclass(frozen=True, slots=True)
class EngineChoice:
    """Which engine runs each notebook: ``$NBRULES_ENGINE``, else the notebook's
    ``tasks: {NAME: {engine: …}}``, else ``nbrules: {engine: …}``."""

    default: str = DEFAULT_ENGINE
    tasks: Mapping[str, str] = field(default_factory=dict)

    def for_task(self, task: str, environ: Mapping[str, str] | None = None) -> str:
        override = (os.environ if environ is None else environ).get(ENV_ENGINE)
        if override:
            if override not in ENGINE_NAMES:
                raise ConfigError(
                    f"${ENV_ENGINE} is {override!r}",
                    hint=did_you_mean(override, ENGINE_NAMES, "use one of"),
                )
            return override
        return self.tasks.get(task, self.default)

    def to_env(self) -> str:
        return canonical_json({"default": self.default, "tasks": dict(self.tasks)})

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> EngineChoice:
        found = _from_env(
            ENV_ENGINES,
            environ,
            lambda data: cls(
                str(data["default"]), {str(k): str(v) for k, v in data["tasks"].items()}
            ),
        )
        return found or cls()


#: The notebooks a build forces, for its jobs (JSON of :class:`Force`).
ENV_FORCE = "NBRULES_FORCE"
#: Set by nbrules' Snakemake logger: jobs keep their lines to their logs, off the console.
ENV_CONSOLE = "NBRULES_CONSOLE"


@dataclass(frozen=True, slots=True)
class Force:
    """Notebooks a build forces to execute (``--forceall``, ``--forcerun``, ``-f``).

    Snakemake decides what it schedules; a forced notebook's job then executes and
    republishes instead of restoring from the cache. Not a config setting: the
    adapter reads it off Snakemake's command line in the main process, and jobs (also
    on cluster nodes, which inherit the environment) read it from ``$NBRULES_FORCE``.
    """

    everything: bool = False
    tasks: frozenset[str] = frozenset()

    def covers(self, task: str) -> bool:
        return self.everything or task in self.tasks

    def to_env(self) -> str:
        return canonical_json({"everything": self.everything, "tasks": sorted(self.tasks)})

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Force:
        found = _from_env(
            ENV_FORCE,
            environ,
            lambda data: cls(bool(data["everything"]), frozenset(str(t) for t in data["tasks"])),
        )
        return found or cls()


@dataclass(frozen=True, slots=True)
class TaskSettings:
    """One notebook's entry under ``tasks:``."""

    params: Mapping[str, Any] = field(
        default_factory=dict,
        metadata=_help("parameter values for this notebook only (it must declare them)"),
    )
    resources: Mapping[str, Any] = field(
        default_factory=dict,
        metadata=_help("threads, mem_mb, runtime, slurm_partition, …: beat the notebook's own"),
    )
    group: str | None = field(
        default=None,
        metadata=_help(
            "Snakemake job group: connected notebooks of one group run as one cluster job"
        ),
    )
    engine: str | None = field(
        default=None, metadata=_help("kernel or inprocess: beats nbrules: {engine: …}")
    )


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything nbrules reads from config, resolved; paths relative to the working dir."""

    results: str = field(default="results", metadata=_help("output root of the products"))
    logs: str = field(default="logs/results", metadata=_help("job logs folder"))
    notebooks: str = field(
        default="notebooks", metadata=_help("notebook folder (config: relative to the Snakefile)")
    )
    pythonpath: tuple[str, ...] = field(
        default=(),
        metadata=_help("extra import paths of every notebook (config: relative to the Snakefile)"),
    )
    kernel: str = field(default=DEFAULT_KERNEL, metadata=_help("Jupyter kernel name"))
    engine: str = field(
        default=DEFAULT_ENGINE,
        metadata=_help("kernel (a Jupyter kernel per notebook) or inprocess (the job's process)"),
    )
    params: Mapping[str, Any] = field(
        default_factory=dict,
        metadata=_help("parameter values for every notebook that declares them"),
    )
    tasks: Mapping[str, TaskSettings] = field(
        default_factory=dict, metadata=_help("per-notebook settings")
    )
    cache: CacheSettings = field(default_factory=CacheSettings, metadata=_help("the product cache"))

    def task(self, name: str) -> TaskSettings:
        return self.tasks.get(name) or TaskSettings()

    @property
    def engines(self) -> EngineChoice:
        own = {name: t.engine for name, t in self.tasks.items() if t.engine is not None}
        return EngineChoice(self.engine, own)


ENGINE_KEYS: Mapping[str, str] = {
    "notebooks": "notebook folder, relative to the Snakefile",
    "pythonpath": "extra import paths, relative to the Snakefile",
    "kernel": "Jupyter kernel name",
    "engine": "kernel | inprocess",
    "cache": "store folder",
    "cache_verify": "re-hash linked objects on every restore",
    "cache_link": "copy | hardlink | symlink",
    "cache_packages": "key on package versions",
    "cache_lease_timeout": "seconds without heartbeat before a lease is taken over",
}
TASK_KEYS = ("params", "resources", "group", "engine")


@dataclass(frozen=True, slots=True)
class _Reader:
    """Reads config values, failing at the ``file:line`` that set the offending key."""

    files: Sequence[Path]

    def fail(self, keys: Sequence[str], message: str, hint: str | None = None) -> NoReturn:
        path, line = locate(self.files, keys)
        shown = relative_if_inside(path, Path.cwd()) if path is not None else None
        raise ConfigError(message, path=shown, line=line, hint=hint)

    def mapping(self, value: Any, keys: Sequence[str]) -> Mapping[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            where = ".".join(keys)
            self.fail(
                keys,
                f"config key '{where}' must be a mapping, got {value!r}",
                f"write '{keys[-1]}:' as a YAML mapping of name: value",
            )
        return value

    def known(self, value: Mapping[str, Any], known: Sequence[str], keys: Sequence[str]) -> None:
        for key in value:
            if key not in known:
                where = ".".join([*keys, str(key)])
                self.fail(
                    [*keys, str(key)],
                    f"unknown config key '{where}'",
                    did_you_mean(str(key), known),
                )

    def flag(self, value: Any, keys: Sequence[str]) -> bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"  # a profile's `config:` stringifies
        self.fail(
            keys,
            f"config key '{'.'.join(keys)}' must be true or false, got {value!r}",
            f"{keys[-1]}: true",
        )

    def seconds(self, value: Any, keys: Sequence[str]) -> float:
        if isinstance(value, str):
            with contextlib.suppress(ValueError):
                value = float(value)  # a profile's `config:` stringifies
        if isinstance(value, (int, float)) and not isinstance(value, bool) and 1 <= value < 1e9:
            return float(value)
        self.fail(
            keys,
            f"config key '{'.'.join(keys)}' must be a number of seconds >= 1, got {value!r}",
            f"{keys[-1]}: 120",
        )

    def text(self, value: Any, keys: Sequence[str]) -> str:
        if isinstance(value, str) and value.strip():
            return value
        self.fail(keys, f"config key '{'.'.join(keys)}' must be a non-empty string, got {value!r}")

    def choice(self, value: Any, choices: Sequence[str], keys: Sequence[str]) -> str:
        if value in choices:
            return str(value)
        self.fail(
            keys,
            f"config key '{'.'.join(keys)}' is {value!r}",
            did_you_mean(str(value), choices, "use one of"),
        )


def parse_settings(
    config: Mapping[str, Any], snakefile_dir: Path, cwd: Path, files: Sequence[Path] = ()
) -> Settings:
    """Validate nbrules' keys of a Snakemake config dict into :class:`Settings`.

    ``files`` are the config files it was read from, last wins (to locate errors).
    """
    read = _Reader(tuple(files))
    engine = read.mapping(config.get("nbrules"), ["nbrules"])
    read.known(engine, list(ENGINE_KEYS), ["nbrules"])
    results = _folder(config.get("results"), "results", cwd, read)
    logs = config.get("logs") or f"logs/{PurePosixPath(results).name or 'results'}"
    base = PurePosixPath(relative_if_inside(snakefile_dir, cwd).as_posix())
    notebooks = read.text(engine.get("notebooks", "notebooks"), ["nbrules", "notebooks"])
    pythonpath = _paths(engine.get("pythonpath", []), read)
    return Settings(
        results=results,
        logs=_folder(logs, "logs", cwd, read),
        notebooks=str(base / notebooks),
        pythonpath=tuple(str(base / p) for p in pythonpath),
        kernel=read.text(engine.get("kernel", DEFAULT_KERNEL), ["nbrules", "kernel"]),
        engine=read.choice(
            engine.get("engine", DEFAULT_ENGINE), ENGINE_NAMES, ["nbrules", "engine"]
        ),
        params=dict(read.mapping(config.get("params"), ["params"])),
        tasks=_tasks(config.get("tasks"), read),
        cache=_cache(engine, read),
    )


def _cache(engine: Mapping[str, Any], read: _Reader) -> CacheSettings:
    root = engine.get("cache")
    return CacheSettings(
        root=None if root is None else read.text(root, ["nbrules", "cache"]),
        verify=read.flag(engine.get("cache_verify", False), ["nbrules", "cache_verify"]),
        link=read.choice(engine.get("cache_link", "copy"), LINK_MODES, ["nbrules", "cache_link"]),
        packages=read.flag(engine.get("cache_packages", False), ["nbrules", "cache_packages"]),
        lease_timeout=read.seconds(
            engine.get("cache_lease_timeout", DEFAULT_LEASE_TIMEOUT),
            ["nbrules", "cache_lease_timeout"],
        ),
    )


def _tasks(value: Any, read: _Reader) -> dict[str, TaskSettings]:
    tasks: dict[str, TaskSettings] = {}
    for name, own in read.mapping(value, ["tasks"]).items():
        keys = ["tasks", str(name)]
        entry = read.mapping(own, keys)
        read.known(entry, TASK_KEYS, keys)
        tasks[str(name)] = TaskSettings(
            params=dict(read.mapping(entry.get("params"), [*keys, "params"])),
            resources=dict(read.mapping(entry.get("resources"), [*keys, "resources"])),
            group=_group(entry.get("group"), [*keys, "group"], read),
            engine=None
            if entry.get("engine") is None
            else read.choice(entry["engine"], ENGINE_NAMES, [*keys, "engine"]),
        )
    return tasks


def _group(value: Any, keys: Sequence[str], read: _Reader) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip() or any(c.isspace() for c in value):
        read.fail(
            keys,
            f"config key '{'.'.join(keys)}' must be a group name, got {value!r}",
            "tasks: {get-data: {group: prep}, clean: {group: prep}}",
        )
    return value


def _paths(value: Any, read: _Reader) -> list[str]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(v, str) and v for v in items):
        read.fail(
            ["nbrules", "pythonpath"],
            f"config key 'nbrules.pythonpath' must be a folder or a list of folders, got {value!r}",
            "pythonpath: [src]",
        )
    return list(items)


def _folder(value: Any, key: str, cwd: Path, read: _Reader) -> str:
    text = "results" if value is None and key == "results" else value
    if not isinstance(text, str) or not text.strip():
        read.fail(
            [key],
            f"config key '{key}' must name a folder, got {value!r}",
            f"e.g. {key}: {key}/sample",
        )
    path = Path(text)
    if path.is_absolute():
        return relative_if_inside(path, cwd).as_posix()
    if key == "results" and text.strip() == ".":
        return "."  # products relative to the working directory (pipeline.yaml projects)
    normal = PurePosixPath(*path.parts) if path.parts else PurePosixPath(".")
    if str(normal) == ".":
        read.fail(
            [key],
            f"config key '{key}' must name a folder, got {value!r}",
            f"e.g. {key}: {key}/sample",
        )
    return str(normal)


def check_names(s: Settings, tasks: Collection[Task], files: Sequence[Path] = ()) -> None:
    """Config entries must name a notebook (``tasks:``) or a declared parameter (``params:``)."""
    read = _Reader(tuple(files))
    names = sorted(task.name for task in tasks)
    declared = sorted(set().union(*(task.declared for task in tasks)))
    for name in s.tasks:
        if name not in names:
            read.fail(
                ["tasks", name],
                f"config key 'tasks' names unknown notebook '{name}'",
                did_you_mean(name, names, "known notebooks"),
            )
    for name in s.params:
        if name not in declared:
            read.fail(
                ["params", name],
                f"config key 'params' sets '{name}', which no notebook declares",
                did_you_mean(name, declared, "declared parameters"),
            )


def field_help(cls: type) -> dict[str, str]:
    """``{field: help}`` of a settings dataclass (for docs and ``--help``)."""
    return {f.name: str(f.metadata.get("help", "")) for f in fields(cls)}

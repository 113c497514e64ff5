"""``nbrules build``: build a project folder through Snakemake, without a Snakefile.

Run in a project folder. With a ``pipeline.yaml`` (Ploomber's format, read by
:mod:`nbrules.ploomber.spec`) its tasks become the rules. Without one, the project's
own Snakefile runs if it has one (as plain ``snakemake`` would), else the declared
notebooks of ``notebooks/`` become the rules. Snakemake runs the packaged
``build.smk`` with the project folder as its working directory, so products land
where ``ploomber build`` puts them, and ``.snakemake/`` plus nbrules' logs
(``.nbrules/logs``) stay out of product folders.

Options of its own (everything else goes to Snakemake: ``--cores 2``, ``-n``,
``--forcerun TASK``, targets — task names become rule names;
``--cores`` defaults to what ``executor:`` implies, else 1, as Ploomber's serial
executor):

``--engine NAME``
    ``kernel`` or ``inprocess`` for every notebook of this build (``$NBRULES_ENGINE``;
    beats the config's ``engine:``).
``--force``, ``-f``
    execute every task again, bypassing the product cache, as ``ploomber build
    --force`` (Snakemake's ``--forceall``; products are republished to the cache).
``--profile NAME``
    ``profiles/NAME`` of the project: its ``config.yaml`` is a Snakemake profile and its
    ``env.yaml`` overrides env keys; an ``env.NAME.yaml`` beside ``pipeline.yaml``
    replaces ``env.yaml`` (Ploomber's naming).
``--env--KEY VALUE``
    override one env key, as ``ploomber build --env--KEY VALUE`` (nested: ``--env--a--b``).
``--entry-point FILE``, ``-e FILE``
    another spec than ``pipeline.yaml`` (``pipeline.serve.yaml`` selects ``env.serve.yaml``).
``--partially TASK``
    build TASK and what it needs only (as ``ploomber build --partially``; a task name as
    a plain argument does the same).
``--skip-upstream``
    with ``--partially`` (or task names): run only the named tasks, on the upstream
    products as they are (Snakemake's ``--allowed-rules``); a missing one is an error.
``--log LEVEL``
    ``debug`` (Snakemake's ``--verbose``), ``info`` (the default), or ``warning`` /
    ``error`` / ``critical`` (``--quiet``: no progress, rules or reasons).
``--log-file FILE``
    everything the build prints (Snakemake, jobs, kernels) is also appended to FILE.

What the command decided travels to ``build.smk`` as JSON in ``$NBRULES_BUILD``, so
every parse of the Snakefile (also in remote jobs) sees the same env and timestamp.
"""

from __future__ import annotations

import datetime
import json
import os
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..common.errors import ConfigError
from ..common.tee import tee
from ..common.text import did_you_mean
from ..common.yaml import merge, read_yaml
from ..plan import graph
from ..plan.declarations import Task
from ..plan.settings import ENGINE_NAMES, ENV_CONSOLE, ENV_ENGINE
from ..snakemake import commandline
from . import spec as pipeline_yaml
from .env import Context, load_env

ENV_VAR = "NBRULES_BUILD"
SNAKEFILE = Path(__file__).with_name("build.smk")
LOGS = ".nbrules/logs"
#: ``path:line: error``, or ``notebook.py: error`` (a failed integrity check).
_FAILURE = re.compile(r"^nbrules: (\S+(?::\d+|\.py): .*)$", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class Request:
    """What ``nbrules build`` decided; JSON in ``$NBRULES_BUILD`` for ``build.smk``."""

    root: str
    spec: str | None = None
    env_file: str | None = None
    env: dict[str, Any] = field(default_factory=dict)
    env_from: str = "--env"
    now: str = ""
    cwd: str = ""
    quiet: bool = False

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Request:
        return cls(**json.loads(text))


@dataclass(frozen=True, slots=True)
class Project:
    """What ``build.smk`` needs: the folder and, for ``pipeline.yaml``, its tasks."""

    root: Path
    spec: pipeline_yaml.Spec | None

    @property
    def tasks(self) -> list[Task] | None:
        return list(self.spec.tasks) if self.spec is not None else None


@dataclass(frozen=True, slots=True)
class Options:
    """``nbrules build``'s own options; ``snakemake`` holds everything else, in order."""

    profile: str | None = None
    entry_point: str | None = None
    env: dict[str, Any] = field(default_factory=dict)
    snakemake: tuple[str, ...] = ()
    engine: str | None = None
    #: ``--partially`` targets (task names).
    partially: tuple[str, ...] = ()
    skip_upstream: bool = False
    log_level: str | None = None
    log_file: str | None = None


def parse(argv: Sequence[str]) -> Options:
    """Split our options from Snakemake's (which keep their order)."""
    valued: dict[str, str] = {}
    env: dict[str, Any] = {}
    partially: list[str] = []
    skip_upstream = False
    rest: list[str] = []
    args = list(argv)
    while args:
        arg = args.pop(0)
        name, eq, inline = arg.partition("=")
        if name in _VALUED or name.startswith("--env--"):
            if not eq and not args:
                raise ConfigError(f"{name} needs a value", hint=f"{name} VALUE")
            value = inline if eq else args.pop(0)
            if name.startswith("--env--"):
                _set_nested(env, name.removeprefix("--env--").split("--"), value)
            elif name == "--partially":
                partially.append(value)
            else:
                valued[_VALUED[name]] = value
        elif arg in ("--force", "-f"):
            rest.append("--forceall")  # Ploomber's --force: execute everything again
        elif arg == "--skip-upstream":
            skip_upstream = True
        else:
            rest.append(arg)
    engine = valued.get("engine")
    level = valued.get("log")
    if level is not None and level.lower() not in LOG_LEVELS:
        raise ConfigError(
            f"--log {level!r} is not a logging level",
            hint=did_you_mean(level.lower(), LOG_LEVELS, "use one of"),
        )
    return Options(
        valued.get("profile"),
        valued.get("entry"),
        env,
        tuple(rest),
        _engine(engine) if engine is not None else None,
        tuple(partially),
        skip_upstream,
        level.lower() if level is not None else None,
        valued.get("log_file"),
    )


#: Options of ``nbrules build`` that take a value → their field.
_VALUED = {
    "--profile": "profile",
    "--entry-point": "entry",
    "-e": "entry",
    "--engine": "engine",
    "--partially": "partially",
    "--log": "log",
    "--log-file": "log_file",
}
#: Ploomber's ``--log`` levels → Snakemake's verbosity.
LOG_LEVELS = {
    "debug": ("--verbose",),
    "info": (),
    "warning": ("--quiet", "progress", "rules", "reason", "host"),
    "error": ("--quiet", "progress", "rules", "reason", "host"),
    "critical": ("--quiet", "progress", "rules", "reason", "host"),
}


def _engine(value: str) -> str:
    if value not in ENGINE_NAMES:
        raise ConfigError(
            f"--engine {value!r} is not an engine",
            hint=did_you_mean(value, ENGINE_NAMES, "use one of"),
        )
    return value


def _set_nested(env: dict[str, Any], keys: list[str], value: str) -> None:
    for key in keys[:-1]:
        env = env.setdefault(key, {})
    env[keys[-1]] = value


def find_spec(folder: Path, entry_point: str | None = None) -> Path | None:
    """``pipeline.yaml`` of ``folder`` (or ``src/<pkg>/`` of a package), or ``None``."""
    if entry_point:
        path = (folder / entry_point).resolve()
        if not path.is_file():
            raise ConfigError(f"--entry-point {entry_point} does not exist", path=folder)
        return path
    direct = folder / pipeline_yaml.SPEC_NAME
    if direct.is_file():
        return direct.resolve()
    if (folder / "setup.py").is_file():
        found = sorted(folder.glob(f"src/*/{pipeline_yaml.SPEC_NAME}"))
        return found[0].resolve() if found else None
    return None


@dataclass(frozen=True, slots=True)
class Profile:
    """A resolved ``--profile``: a Snakemake profile folder and/or env values."""

    snakemake: Path | None = None
    env_file: Path | None = None
    env: Mapping[str, Any] = field(default_factory=dict)


def resolve_profile(name: str | None, root: Path, spec: Path | None) -> Profile:
    """``profiles/NAME`` (Snakemake profile + ``env.yaml``) and ``env.NAME.yaml``."""
    if name is None:
        return Profile()
    folder = Path(name) if Path(name).is_dir() else root / "profiles" / name
    env_file = _find_env(f"env.{name}.yaml", root, spec) if spec is not None else None
    if not folder.is_dir() and env_file is None:
        choices = sorted(p.name for p in (root / "profiles").glob("*") if p.is_dir())
        choices += sorted(p.name[4:-5] for p in root.glob("env.*.yaml"))
        raise ConfigError(
            f"no profile '{name}': neither profiles/{name}/ nor env.{name}.yaml exists",
            hint=did_you_mean(name, choices, "profiles"),
        )
    overrides: Mapping[str, Any] = {}
    profile_env = folder / "env.yaml"
    if profile_env.is_file():
        overrides = read_yaml(profile_env) or {}
        if not isinstance(overrides, Mapping):
            raise ConfigError("a profile's env.yaml must be a mapping", path=profile_env)
    snakemake = folder.resolve() if commandline.is_profile(folder) else None
    return Profile(snakemake, env_file, overrides)


def _find_env(name: str, root: Path, spec: Path) -> Path | None:
    """Ploomber looks in the working directory first, then beside the spec."""
    for folder in (root, spec.parent):
        if (folder / name).is_file():
            return (folder / name).resolve()
    return None


def env_file_for(spec: Path, root: Path, profile: Profile) -> Path | None:
    """The env file Ploomber would load, unless a profile selects another."""
    chosen = os.environ.get("PLOOMBER_ENV_FILENAME")
    if chosen:
        found = _find_env(chosen, root, spec)
        if found is None:
            raise ConfigError(
                f"PLOOMBER_ENV_FILENAME names {chosen}, which does not exist", path=root
            )
        return found
    if profile.env_file is not None:
        return profile.env_file
    parts = spec.name.split(".")
    named = _find_env(f"env.{parts[1]}.yaml", root, spec) if len(parts) > 2 else None
    found = named or _find_env("env.yaml", root, spec)
    if found is None and _find_env("env.yml", root, spec) is not None:
        raise ConfigError(
            "found env.yml: Ploomber (and nbrules) read env.yaml",
            path=root,
            hint="rename env.yml to env.yaml",
        )
    return found


def request(options: Options, cwd: Path) -> tuple[Request, Profile]:
    """Decide the project folder, spec, env file and env overrides."""
    spec = find_spec(cwd, options.entry_point)
    root = pipeline_yaml.project_root(spec) if spec is not None else cwd.resolve()
    profile = resolve_profile(options.profile, root, spec)
    env_file = env_file_for(spec, root, profile) if spec is not None else None
    overrides = dict(merge(profile.env, options.env))
    env_from = f"profile '{options.profile}' (env.yaml)" if profile.env else "--env"
    return Request(
        root=str(root),
        spec=str(spec) if spec is not None else None,
        env_file=str(env_file) if env_file is not None else None,
        env=overrides,
        env_from=env_from,
        now=datetime.datetime.now().isoformat(),
        cwd=str(cwd.resolve()),
    ), profile


def load_project(req: Request) -> Project:
    """Read the spec of ``req`` (if any) into validated tasks."""
    root = Path(req.root)
    if req.spec is None:
        return Project(root, None)
    spec_path = Path(req.spec)
    ctx = Context(here=spec_path.parent, root=root, cwd=Path(req.cwd or root), now=req.now)
    env_file = Path(req.env_file) if req.env_file else None
    env = load_env(ctx, env_file, req.env, req.env_from)
    spec = pipeline_yaml.load(spec_path, env, root)
    graph.build(spec.tasks)
    return Project(root, spec)


def from_environment() -> Project:
    """For ``build.smk``: the request of ``nbrules build``, or the working directory's."""
    text = os.environ.get(ENV_VAR)
    if text:
        return load_project(Request.from_json(text))
    cwd = Path.cwd()
    spec = find_spec(cwd)
    root = pipeline_yaml.project_root(spec) if spec is not None else cwd
    env_file = env_file_for(spec, root, Profile()) if spec is not None else None
    return load_project(
        Request(
            str(root),
            str(spec) if spec else None,
            str(env_file) if env_file else None,
            now=datetime.datetime.now().isoformat(),
            cwd=str(cwd),
        )
    )


def quiet() -> bool:
    """Whether ``nbrules build`` already printed the spec's warnings."""
    text = os.environ.get(ENV_VAR)
    return bool(text) and Request.from_json(text or "{}").quiet


def config_defaults(config: dict[str, Any], project: Project) -> None:
    """Ploomber layout: products relative to the project folder, logs under .nbrules/."""
    if project.spec is None:
        return
    config.setdefault("results", ".")
    config.setdefault("logs", LOGS)
    engine = config.get("nbrules")
    if not isinstance(engine, dict):
        engine = config["nbrules"] = {}
    engine.setdefault("notebooks", ".")


def snakemake_args(options: Options, project: Project, profile: Profile) -> list[str]:
    """Snakemake's command line: targets as rule names, a default for --cores."""
    names = {t.name: graph.rule_name(t.name) for t in project.tasks or []}
    args = [names.get(arg, arg) for arg in [*options.snakemake, *options.partially]]
    for task in options.partially:
        if project.tasks is not None and task not in names:
            raise ConfigError(
                f"--partially {task}: no such task",
                hint=did_you_mean(task, names, "tasks"),
            )
    if options.skip_upstream:
        targets = [names[a] for a in [*options.snakemake, *options.partially] if a in names]
        if not targets:
            raise ConfigError(
                "--skip-upstream needs the tasks to run",
                hint="nbrules build --partially TASK --skip-upstream",
            )
        args += ["--allowed-rules", *targets]
    if options.log_level is not None:
        args += LOG_LEVELS[options.log_level]
    if profile.snakemake is not None:
        args = ["--profile", str(profile.snakemake), *args]
    if not commandline.sets_cores(args, profile.snakemake):
        implied = project.spec.cores if project.spec is not None else None
        args = ["--cores", implied or "1", *args]
    if not commandline.sets_rerun_incomplete(args, profile.snakemake):
        # After a killed build: outputs of jobs that were running are rebuilt (with the
        # cache: restored), never trusted, and never a reason to stop.
        args = ["--rerun-incomplete", *args]
    return args


def run(
    argv: Sequence[str],
    cwd: Path | None = None,
    snakemake: Callable[[Sequence[str]], int] = commandline.run_snakemake,
) -> int:
    """``nbrules build``: validate, report warnings, run Snakemake; its exit code."""
    options = parse(argv)
    req, profile = request(options, cwd or Path.cwd())
    project = load_project(req)
    if (
        snakefile_args(project)
        and project.spec is None
        and options.profile is None
        and not (project.root / "notebooks").is_dir()
    ):
        raise ConfigError(
            "nothing to build here: no pipeline.yaml, no Snakefile and no notebooks/ folder",
            path=project.root,
            hint="run nbrules build in the folder of pipeline.yaml",
        )
    for warning in project.spec.warnings if project.spec else ():
        print(warning.render(), file=sys.stderr, flush=True)
    args = snakemake_args(options, project, profile)
    os.environ[ENV_VAR] = Request(**{**asdict(req), "quiet": True}).to_json()
    if options.engine is not None:
        os.environ[ENV_ENGINE] = options.engine
    log_file = Path(cwd or Path.cwd(), options.log_file) if options.log_file else None
    os.chdir(req.root)
    logs = Path(req.root, LOGS)
    before = {log: log.stat().st_mtime_ns for log in logs.glob("*.log")}
    with tee(log_file) if log_file is not None else nullcontext():
        code = snakemake([*snakefile_args(project), *args])
        # nbrules' Snakemake logger (a profile's `logger:`) repeated them last already
        if code and project.spec is not None and not os.environ.get(ENV_CONSOLE):
            for failure in failures(logs, before):
                print(f"nbrules build: failed: {failure}", file=sys.stderr)
    return code


def snakefile_args(project: Project) -> list[str]:
    """The packaged rules, unless a native project has a Snakefile of its own."""
    if project.spec is None and commandline.has_snakefile(project.root):
        return []  # Snakemake finds it, as plain `snakemake` would
    return ["--snakefile", str(SNAKEFILE)]


def failures(logs: Path, before: Mapping[Path, int]) -> list[str]:
    """``path:line: error`` lines of the jobs this build ran, repeated after Snakemake's noise.

    Snakemake deletes a job's log before running it, so a log written during this build
    (a new modification time) holds this build's lines only.
    """
    found = []
    for log in sorted(logs.glob("*.log")):
        if log.name.endswith(".history.log"):
            continue  # every build's lines, not this build's
        if log.stat().st_mtime_ns != before.get(log):
            text = log.read_text(encoding="utf-8", errors="replace")
            found += [match.group(1) for match in _FAILURE.finditer(text)]
    return found

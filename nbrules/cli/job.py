"""``nbrules run SPEC_FILE``: the command each Snakemake job runs."""

from __future__ import annotations

import functools
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from ..common.errors import ConfigError, NbrulesError
from ..plan.interpreter import kernel_interpreter
from ..plan.jobspec import JobSpec, read_spec_file
from ..plan.settings import ENV_CONSOLE, EngineChoice

if TYPE_CHECKING:
    from ..run.execute import RunResult


def run(spec_file: str, threads: int) -> int:
    """Restore or execute one job; its one line goes to stderr and the job's log."""
    _skip_slow_optional_imports()
    from ..run.job import run_job

    spec = read_spec_file(Path(spec_file))
    try:
        engine = engine_for(spec)
        runner = functools.partial(_execute, threads=threads, engine=engine)
        outcome = run_job(spec, Path.cwd(), runner, tell=_say)
    except NbrulesError as error:
        log_line(spec, "nbrules: " + error.render())
        return 1
    for warning in outcome.warnings:
        log_line(spec, warning)
    log_line(spec, outcome.line)
    return 0


def _execute(spec: JobSpec, cwd: Path, threads: int, engine: str) -> RunResult:
    """Execute on a miss: a hit never imports the engines (papermill, nbformat: ≈0.3 s)."""
    from ..run.execute import run as execute

    return execute(spec, cwd, threads=threads, engine=engine)


def _skip_slow_optional_imports() -> None:
    """jsonschema, which nbformat imports, imports ``rfc3987_syntax`` when installed
    (Jupyter Server's extras pull it in) for its ``iri`` format checks: building that
    module's grammar costs ≈0.6 s per job, and nbformat checks no such format."""
    sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]


def engine_for(spec: JobSpec) -> str:
    """The build's engine for this notebook; in-process only in the kernel's interpreter."""
    name = EngineChoice.from_env().for_task(spec.name)
    if name != "inprocess":
        return name
    interpreter = kernel_interpreter(spec.kernel)
    if not interpreter.current:
        raise ConfigError(
            f"engine 'inprocess' cannot run kernel {spec.kernel!r}: its Python is "
            f"{interpreter.executable}, not the one running nbrules",
            path=spec.source,
            hint="use engine: kernel for this notebook (tasks: {NAME: {engine: kernel}}), "
            "or install nbrules into the kernel's environment",
        )
    return name


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def history_path(log: Path) -> Path:
    """``<notebook>.history.log`` beside the job's log: every job's lines, never truncated."""
    return log.with_suffix(".history.log")


def log_line(spec: JobSpec, line: str) -> None:
    """One line to stderr (Snakemake shows it), to the job's log file (Snakemake empties
    it before each job) and, stamped with the time, to the notebook's history log. Under
    nbrules' Snakemake logger (``$NBRULES_CONSOLE``) the console shows it, not the job."""
    if not os.environ.get(ENV_CONSOLE):
        print(line, file=sys.stderr, flush=True)
    log = Path(spec.log)
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    for path, text in ((log, line), (history_path(log), f"{stamp} {line}")):
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "a", encoding="utf-8") as handle:
                handle.write(text + "\n")
        except OSError as exc:
            print(f"nbrules: cannot write log {path}: {exc}", file=sys.stderr)

"""``nbrules run SPEC_FILE``: the command each Snakemake job runs."""

from __future__ import annotations

import functools
import sys
from pathlib import Path

from ..common.errors import NbrulesError
from ..plan.jobspec import JobSpec, read_spec_file


def run(spec_file: str, threads: int) -> int:
    """Restore or execute one job; its one line goes to stderr and the job's log."""
    from ..run.execute import run as execute
    from ..run.job import run_job

    spec = read_spec_file(Path(spec_file))
    runner = functools.partial(execute, threads=threads)
    try:
        outcome = run_job(spec, Path.cwd(), runner, tell=_say)
    except NbrulesError as error:
        log_line(spec, "nbrules: " + error.render())
        return 1
    for warning in outcome.warnings:
        log_line(spec, warning)
    log_line(spec, outcome.line)
    return 0


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def log_line(spec: JobSpec, line: str) -> None:
    """One line to stderr (Snakemake shows it) and to the job's log file."""
    print(line, file=sys.stderr, flush=True)
    log = Path(spec.log)
    try:
        log.parent.mkdir(parents=True, exist_ok=True)
        with open(log, "a", encoding="utf-8") as handle:
            handle.write(line + "\n")
    except OSError as exc:
        print(f"nbrules: cannot write log {log}: {exc}", file=sys.stderr)

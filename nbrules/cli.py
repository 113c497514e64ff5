"""Command line: ``python -m nbrules run`` (the Snakemake job) and friends.

The only module that prints for humans.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from .config import JobSpec
from .errors import NbrulesError


def _run(args: argparse.Namespace) -> int:
    from .execute import run

    spec = JobSpec.from_json(args.spec)
    if args.threads:
        spec = _with_threads(spec, args.threads)
    start = time.perf_counter()
    result = run(spec, Path.cwd())
    _log(spec, f"nbrules: {spec.name}: executed in {time.perf_counter() - start:.1f}s "
               f"(kernel {result.seconds:.1f}s)")
    return 0


def _with_threads(spec: JobSpec, threads: int) -> JobSpec:
    from dataclasses import replace

    return replace(spec, engine={**spec.engine, "threads": threads})


def _log(spec: JobSpec, line: str) -> None:
    print(line, file=sys.stderr, flush=True)
    log = Path(spec.log)
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "a", encoding="utf-8") as handle:
        handle.write(line + "\n")


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="nbrules", description=__doc__)
    sub = top.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="execute one notebook job (called by Snakemake)")
    run.add_argument("spec", help="the job spec (JSON) from the rule's params")
    run.add_argument("--threads", type=int, default=0)
    run.set_defaults(func=_run)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return int(args.func(args))
    except NbrulesError as error:
        print(error.render(), file=sys.stderr)
        spec = getattr(args, "spec", None)
        if isinstance(spec, str):
            try:
                _log(JobSpec.from_json(spec), "nbrules: " + error.render())
            except (ValueError, TypeError, OSError):
                pass
        return 1

"""Command line: ``python -m nbrules run`` (the Snakemake job) and friends.

The only module that prints for humans.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .config import JobSpec
from .errors import NbrulesError


def _run(args: argparse.Namespace) -> int:
    from .job import run_job

    spec = JobSpec.from_parts(args.spec, args.values)
    if args.threads:
        spec = _with_threads(spec, args.threads)
    _log(spec, run_job(spec, Path.cwd()).line)
    return 0


def _with_threads(spec: JobSpec, threads: int) -> JobSpec:
    from dataclasses import replace

    return replace(spec, engine={**spec.engine, "threads": threads})


def _log(spec: JobSpec, line: str) -> None:
    """One line to stderr (Snakemake shows it) and to the job's log file."""
    print(line, file=sys.stderr, flush=True)
    log = Path(spec.log)
    try:
        log.parent.mkdir(parents=True, exist_ok=True)
        with open(log, "a", encoding="utf-8") as handle:
            handle.write(line + "\n")
    except OSError as exc:
        print(f"nbrules: cannot write log {log}: {exc}", file=sys.stderr)


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="nbrules", description=__doc__)
    sub = top.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="execute one notebook job (called by Snakemake)")
    run.add_argument("spec", help="the job spec (JSON) from the rule's params")
    run.add_argument("--threads", type=int, default=0)
    run.add_argument("--values", default=None,
                     help="the parameter values (JSON), when not inside the spec")
    run.set_defaults(func=_run)
    _cache_parser(sub)
    # Listed for --help only: main() hands `build ...` to nbrules.build untouched, since
    # its unknown options go to Snakemake (argparse cannot pass them through).
    sub.add_parser("build", help="build this project folder (pipeline.yaml or notebooks/) "
                   "with Snakemake; see nbrules build --help")
    return top


def _build(argv: Sequence[str]) -> int:
    from . import build

    if list(argv[:1]) in (["-h"], ["--help"]):
        print(build.__doc__)
        return 0
    try:
        return build.run(argv)
    except NbrulesError as error:
        print(error.render(), file=sys.stderr)
        return 1


def _cache_parser(sub: Any) -> None:
    from .cache_admin import parse_size

    cache = sub.add_parser("cache", help="inspect and maintain the product cache")
    commands = cache.add_subparsers(dest="cache_command", required=True)
    where = argparse.ArgumentParser(add_help=False)
    where.add_argument("--cache", metavar="DIR",
                       help="the store (default: $NBRULES_CACHE, else .nbrules/cache)")
    stats = commands.add_parser("stats", parents=[where],
                                help="entries, objects, bytes, hit ratio of the last build")
    stats.add_argument("--build", help="report this build id instead of the last one")
    stats.set_defaults(func=_cache_stats)
    verify = commands.add_parser("verify", parents=[where],
                                 help="recompute every digest; drop bad objects and entries")
    verify.set_defaults(func=_cache_verify)
    gc = commands.add_parser("gc", parents=[where],
                             help="evict entries unused for DAYS or beyond SIZE (LRU first)")
    gc.add_argument("--older-than", type=float, metavar="DAYS",
                    help="remove entries not used for DAYS days")
    gc.add_argument("--max-size", type=_size_type(parse_size), metavar="SIZE",
                    help="then least recently used first until under SIZE (500M, 20G)")
    gc.add_argument("--dry-run", action="store_true", help="report, remove nothing")
    gc.set_defaults(func=_cache_gc)
    path = commands.add_parser("path", parents=[where], help="print the store's path")
    path.set_defaults(func=_cache_path)


def _size_type(parse: Any) -> Any:
    def convert(text: str) -> int:
        try:
            return int(parse(text))
        except NbrulesError as error:
            raise argparse.ArgumentTypeError(error.render()) from None

    return convert


def _store(args: argparse.Namespace) -> Any:
    from .cache import Store, store_root

    root = Path(args.cache) if args.cache else store_root({}, Path.cwd())
    if not (root / "manifests").is_dir():
        raise NbrulesError(f"no nbrules cache at {root}",
                           hint="build once, or pass --cache DIR / set NBRULES_CACHE")
    return Store(root)


def _cache_path(args: argparse.Namespace) -> int:
    from .cache import store_root

    print(Path(args.cache) if args.cache else store_root({}, Path.cwd()))
    return 0


def _cache_stats(args: argparse.Namespace) -> int:
    from .cache_admin import human_size, stats

    found = stats(_store(args), args.build)
    print(f"cache:   {found.root}")
    print(f"entries: {found.entries}")
    print(f"objects: {found.objects} ({human_size(found.bytes)})")
    if found.build is None:
        print("last build: none recorded")
        return 0
    ratio = found.hit_ratio
    share = "n/a" if ratio is None else f"{ratio:.0%}"
    print(f"last build {found.build}: {found.hits} hits, {found.misses} misses"
          + (f", {found.errors} failed" if found.errors else "") + f" (hit ratio {share})")
    if found.executed:
        print(f"executed: {', '.join(found.executed)}")
    return 0


def _cache_verify(args: argparse.Namespace) -> int:
    from .cache_admin import verify

    report = verify(_store(args))
    for problem in report.problems:
        print(f"bad: {problem}")
    print(f"verified {report.checked} objects: {len(report.problems)} problems; dropped "
          f"{report.dropped_objects} objects and {report.dropped_entries} entries")
    return 0 if report.ok else 1


def _cache_gc(args: argparse.Namespace) -> int:
    from .cache_admin import gc, human_size

    report = gc(_store(args), older_than_days=args.older_than, max_size=args.max_size,
                dry_run=args.dry_run)
    verb = "would remove" if report.dry_run else "removed"
    print(f"{verb} {report.entries} entries and {report.objects} objects "
          f"({human_size(report.bytes)}); kept {report.kept_entries} entries "
          f"({human_size(report.kept_bytes)})")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["build"]:
        return _build(argv[1:])
    args = parser().parse_args(argv)
    try:
        return int(args.func(args))
    except NbrulesError as error:
        spec = _job_spec_or_none(getattr(args, "spec", None), getattr(args, "values", None))
        if spec is None:
            print(error.render(), file=sys.stderr)
        else:
            _log(spec, "nbrules: " + error.render())
        return 1


def _job_spec_or_none(text: object, values: object) -> JobSpec | None:
    """The job spec of a ``run`` command, if it parses (errors still get logged)."""
    if not isinstance(text, str):
        return None
    try:
        return JobSpec.from_parts(text, values if isinstance(values, str) else None)
    except (ValueError, TypeError):
        return None

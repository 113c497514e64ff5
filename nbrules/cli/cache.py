"""``nbrules cache stats|verify|gc|path``: inspect and maintain the product cache."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ..cache.admin import gc, human_size, parse_size, stats, verify
from ..cache.store import Store, store_root
from ..common.errors import NbrulesError


def add_parser(sub: Any) -> None:
    cache = sub.add_parser("cache", help="inspect and maintain the product cache")
    commands = cache.add_subparsers(dest="cache_command", required=True)
    where = argparse.ArgumentParser(add_help=False)
    where.add_argument(
        "--cache", metavar="DIR", help="the store (default: $NBRULES_CACHE, else .nbrules/cache)"
    )
    stats_cmd = commands.add_parser(
        "stats", parents=[where], help="entries, objects, bytes, hit ratio of the last build"
    )
    stats_cmd.add_argument("--build", help="report this build id instead of the last one")
    stats_cmd.set_defaults(func=_stats)
    verify_cmd = commands.add_parser(
        "verify", parents=[where], help="recompute every digest; drop bad objects and entries"
    )
    verify_cmd.set_defaults(func=_verify)
    gc_cmd = commands.add_parser(
        "gc", parents=[where], help="evict entries unused for DAYS or beyond SIZE (LRU first)"
    )
    gc_cmd.add_argument(
        "--older-than", type=float, metavar="DAYS", help="remove entries not used for DAYS days"
    )
    gc_cmd.add_argument(
        "--max-size",
        type=_size,
        metavar="SIZE",
        help="then least recently used first until under SIZE (500M, 20G)",
    )
    gc_cmd.add_argument("--dry-run", action="store_true", help="report, remove nothing")
    gc_cmd.set_defaults(func=_gc)
    path = commands.add_parser("path", parents=[where], help="print the store's path")
    path.set_defaults(func=_path)


def _size(text: str) -> int:
    try:
        return parse_size(text)
    except NbrulesError as error:
        raise argparse.ArgumentTypeError(error.render()) from None


def _root(args: argparse.Namespace) -> Path:
    return Path(args.cache) if args.cache else store_root(None, Path.cwd())


def _store(args: argparse.Namespace) -> Store:
    root = _root(args)
    if not (root / "manifests").is_dir():
        raise NbrulesError(
            f"no nbrules cache at {root}",
            hint="build once, or pass --cache DIR / set NBRULES_CACHE",
        )
    return Store(root)


def _path(args: argparse.Namespace) -> int:
    print(_root(args))
    return 0


def _stats(args: argparse.Namespace) -> int:
    found = stats(_store(args), args.build)
    print(f"cache:   {found.root}")
    print(f"entries: {found.entries}")
    print(f"objects: {found.objects} ({human_size(found.bytes)})")
    if found.build is None:
        print("last build: none recorded")
        return 0
    ratio = found.hit_ratio
    share = "n/a" if ratio is None else f"{ratio:.0%}"
    print(
        f"last build {found.build}: {found.hits} hits, {found.misses} misses"
        + (f", {found.errors} failed" if found.errors else "")
        + f" (hit ratio {share})"
    )
    if found.executed:
        print(f"executed: {', '.join(found.executed)}")
    return 0


def _verify(args: argparse.Namespace) -> int:
    report = verify(_store(args))
    for problem in report.problems:
        print(f"bad: {problem}")
    print(
        f"verified {report.checked} objects: {len(report.problems)} problems; dropped "
        f"{report.dropped_objects} objects and {report.dropped_entries} entries"
    )
    return 0 if report.ok else 1


def _gc(args: argparse.Namespace) -> int:
    report = gc(
        _store(args), older_than_days=args.older_than, max_size=args.max_size, dry_run=args.dry_run
    )
    verb = "would remove" if report.dry_run else "removed"
    print(
        f"{verb} {report.entries} entries and {report.objects} objects "
        f"({human_size(report.bytes)}); kept {report.kept_entries} entries "
        f"({human_size(report.kept_bytes)})"
    )
    if report.temps:
        print(f"removed {report.temps} temp files left by crashes (and abandoned leases)")
    return 0

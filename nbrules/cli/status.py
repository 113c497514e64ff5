"""``nbrules status``: what the next build will do to each notebook, and why.

No kernel starts and Snakemake is not imported: the project's config for the
profile is read from its files (:mod:`nbrules.snakemake.project`).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ..cache.code import DirectoryMemo
from ..cache.store import store_root
from ..common.errors import ConfigError
from ..common.text import did_you_mean
from ..plan.keys import spec_code
from ..plan.status import Status, statuses
from ..snakemake.project import DEFAULT_PROFILE, default_profile, read_project
from ..snakemake.rules import rules_from_config

WIDTH = 12


def add_parser(sub: Any) -> None:
    status = sub.add_parser(
        "status",
        help="what the next build will do to each notebook, and why",
        description="For every notebook: up-to-date, restore (from the cache) or execute, "
        "and why (the code that changed, parameters old → new, the input and the "
        "upstream behind it, missing products). Starts no kernel.",
    )
    status.add_argument(
        "notebooks",
        nargs="*",
        metavar="NOTEBOOK",
        help="only these notebooks (names or .py paths; default: all)",
    )
    status.add_argument(
        "--profile",
        default=None,
        help=f"the profile whose data to compare (default: {DEFAULT_PROFILE} "
        "if the project has one)",
    )
    status.add_argument(
        "--json", action="store_true", help="print a JSON list of {name, state, reasons}"
    )
    status.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    cwd = Path.cwd()
    project = read_project(cwd, args.profile or default_profile(cwd))
    settings, rules = rules_from_config(
        project.config, project.basedir, files=project.files, cwd=cwd, warn=_warn, write_specs=False
    )
    memo = DirectoryMemo(store_root(settings.cache.root, cwd) / "normalized")
    jobs = [(rule.job, spec_code(rule.job, cwd, memo)) for rule in rules]
    found = _select(statuses(jobs, cwd, settings.cache.root), args.notebooks)
    if args.json:
        print(json.dumps([status.to_json() for status in found], indent=1))
    else:
        print(render(found))
    return 0


def _select(found: list[Status], wanted: list[str]) -> list[Status]:
    if not wanted:
        return found
    names = [Path(name).stem if name.endswith(".py") else name for name in wanted]
    known = [status.name for status in found]
    for name in names:
        if name not in known:
            raise ConfigError(
                f"no notebook named '{name}'", hint=did_you_mean(name, known, "notebooks")
            )
    return [status for status in found if status.name in names]


def render(found: list[Status]) -> str:
    """One line per notebook, its reasons indented below it."""
    width = max([WIDTH, *(len(status.name) + 1 for status in found)])
    lines = []
    for status in found:
        lines.append(f"{status.name:<{width}} {status.state}")
        for reason in status.reasons:
            first, *rest = reason.splitlines()
            lines.append(f"{'':<{width}}   {first}")
            lines += [f"{'':<{width}}   {line}" for line in rest]
    counts = {
        state: sum(1 for s in found if s.state == state)
        for state in ("execute", "restore", "up-to-date")
    }
    lines.append(
        f"{counts['execute']} to execute, {counts['restore']} to restore, "
        f"{counts['up-to-date']} up to date"
    )
    return "\n".join(lines)


def _warn(message: str) -> None:
    print(message, file=sys.stderr)

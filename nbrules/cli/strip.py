"""``nbrules strip [NOTEBOOK…] [--check]``: remove injected cells from notebook sources.

Removes every cell tagged ``injected-parameters`` (written by ``nbrules inject``,
papermill or an older tool) and keeps every other byte. With ``--check`` nothing
is changed: the files that still hold such a cell are listed and the exit status
is 1 (the pre-commit hook ``nbrules-strip``). Without NOTEBOOK arguments: the
``.py`` files of the project's notebooks folder (run in the project folder).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ..common.celltext import has_injected, read_source, strip_injected, write_source
from ..common.notebooks import INJECTED_TAG
from ..plan.settings import parse_settings
from ..snakemake.project import read_project


def add_parser(sub: Any) -> None:
    strip = sub.add_parser(
        "strip",
        help="remove injected cells from notebook sources (--check: list them, exit 1)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    strip.add_argument(
        "notebooks", nargs="*", metavar="NOTEBOOK", help="default: the notebooks folder's .py files"
    )
    strip.add_argument(
        "--check", action="store_true", help="change nothing; exit 1 if a file holds one"
    )
    strip.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    paths = [Path(p) for p in args.notebooks] or project_sources(Path("."))
    holding = [path for path in paths if has_injected(read_source(path), path)]
    if args.check:
        for path in holding:
            print(f"{path}: holds an '{INJECTED_TAG}' cell", file=sys.stderr)
        if holding:
            print("hint: run `nbrules strip` to remove it", file=sys.stderr)
        return 1 if holding else 0
    for path in holding:
        write_source(path, strip_injected(read_source(path), path))
        print(f"stripped {path}")
    return 0


def project_sources(root: Path) -> list[Path]:
    """The ``.py`` files of the notebooks folder of the project in ``root``."""
    project = read_project(root, None)
    s = parse_settings(project.config, project.basedir, root, project.files)
    folder = root / s.notebooks
    return sorted(p for p in folder.glob("*.py") if p.is_file() and not p.name.startswith("."))

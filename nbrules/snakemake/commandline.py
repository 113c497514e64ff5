"""Snakemake's command line and profiles, for front ends that drive Snakemake.

``nbrules build`` (and later commands) pass their own options through to
Snakemake; what they need to know about Snakemake's flags and profile folders
lives here, not in the front ends.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import yaml

_CORES = ("-c", "--cores", "-j", "--jobs")
#: Where Snakemake looks for a Snakefile by default.
SNAKEFILES = ("Snakefile", "snakefile", "workflow/Snakefile", "workflow/snakefile")


def run_snakemake(args: Sequence[str]) -> int:
    """Snakemake's command line in this process: its exit code.

    In-process saves a second interpreter and a second import of nbrules (~0.4 s of a
    2 s no-op build, measured on the Ploomber fixture).
    """
    from snakemake.cli import main

    saved = sys.argv
    sys.argv = ["snakemake", *args]  # what the Snakefile's parse sees (see requested_force)
    try:
        main(list(args))
    except SystemExit as done:
        return done.code if isinstance(done.code, int) else int(done.code is not None)
    finally:
        sys.argv = saved
    return 0


def requested_force(argv: Sequence[str] | None = None) -> tuple[bool, frozenset[str]]:
    """``(--forceall, names)`` of this Snakemake run: ``--forcerun`` rules or files, and
    the targets of ``-f``/``--force``.

    Snakemake hands its DAG settings to the workflow only after parsing the Snakefile,
    so nbrules reads them off the command line with Snakemake's own parser (already
    built in this process: cheap). Only a process started as ``snakemake`` (or through
    :func:`run_snakemake`) has its arguments in ``sys.argv``; elsewhere nothing is forced.
    """
    argv = sys.argv if argv is None else argv
    program = Path(argv[0]).name if argv else ""
    if program != "snakemake" and not str(argv[0]).endswith("snakemake/__main__.py"):
        return False, frozenset()
    from snakemake.cli import get_argument_parser

    args, _ = get_argument_parser().parse_known_args(list(argv[1:]))
    names = set(args.forcerun or ())
    if args.force:
        names |= set(args.targets or ())
    return bool(args.forceall), frozenset(str(name) for name in names)


def is_profile(folder: Path) -> bool:
    """Whether ``folder`` is a Snakemake profile (it holds a ``config.yaml``)."""
    return (folder / "config.yaml").is_file()


def profile_settings(folder: Path) -> dict[str, object]:
    """The options a profile's ``config.yaml`` sets (an empty dict if none)."""
    path = folder / "config.yaml"
    if not path.is_file():
        return {}
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return dict(data) if isinstance(data, dict) else {}


def sets_cores(args: Sequence[str], profile: Path | None) -> bool:
    """Whether the command line or the profile already says how many cores (or jobs)."""
    if any(
        a in _CORES
        or a.startswith(("--cores=", "--jobs="))
        or (a[:2] in ("-c", "-j") and a[2:].isdigit())
        for a in args
    ):
        return True
    if profile is None:
        return False
    return any(key in profile_settings(profile) for key in ("cores", "jobs", "executor"))


def sets_rerun_incomplete(args: Sequence[str], profile: Path | None) -> bool:
    """Whether the command line or the profile already decides ``--rerun-incomplete``."""
    if any(a in ("--rerun-incomplete", "--ri") for a in args):
        return True
    return profile is not None and "rerun-incomplete" in profile_settings(profile)


def has_snakefile(folder: Path) -> bool:
    """Whether plain ``snakemake`` run in ``folder`` would find a Snakefile."""
    return any((folder / name).is_file() for name in SNAKEFILES)

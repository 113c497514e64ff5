"""Snakemake's command line and profiles, for front ends that drive Snakemake.

``nbrules build`` (and later commands) pass their own options through to
Snakemake; what they need to know about Snakemake's flags and profile folders
lives here, not in the front ends.
"""

from __future__ import annotations

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

    try:
        main(list(args))
    except SystemExit as done:
        return done.code if isinstance(done.code, int) else int(done.code is not None)
    return 0


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

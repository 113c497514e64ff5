"""The command line explains itself: --version, --help, build --help."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import version


def nbrules(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "nbrules", *args], capture_output=True,
                          text=True, timeout=60, check=False)


def test_version_is_the_installed_one() -> None:
    done = nbrules("--version")
    assert done.returncode == 0
    assert done.stdout.strip() == f"nbrules {version('nbrules')}"


def test_help_says_what_nbrules_is_and_lists_the_commands() -> None:
    done = nbrules("--help")
    assert done.returncode == 0
    assert "Jupytext notebooks as Snakemake rules" in done.stdout
    for command in ("build", "status", "inject", "strip", "new", "cache"):
        assert command in done.stdout


def test_build_help_is_plain_text() -> None:
    done = nbrules("build", "--help")
    assert done.returncode == 0
    assert "--engine NAME" in done.stdout and "--force" in done.stdout
    assert "``" not in done.stdout and ":mod:" not in done.stdout

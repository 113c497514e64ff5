"""Fixture projects of ``tests/projects`` built for real by ``nbrules build``.

Fixture notebooks (and functions, scripts) append their name to ``kernel-runs.txt``
when they execute, outside every product, so a restore never replays it: the lines a
build adds are exactly what it executed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

PROJECTS = Path(__file__).resolve().parent / "projects"
#: What a build leaves in a fixture folder; never copied.
IGNORE = shutil.ignore_patterns(".snakemake", ".nbrules", "output", "out", "products",
                                "results", "logs", "*-runs.txt", "__pycache__")


def copy(name: str, dest: Path) -> Path:
    """A fresh copy of fixture ``name`` under ``dest``, without any build's leftovers."""
    target = dest / name
    shutil.copytree(PROJECTS / name, target, ignore=IGNORE)
    return target


def nbrules_build(project: Path, *args: str,
                  env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``nbrules build ARGS`` in ``project``, with its own ``.nbrules/cache``."""
    environ = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    environ.pop("NBRULES_CACHE", None)
    environ.pop("NBRULES_BUILD", None)
    return subprocess.run([sys.executable, "-m", "nbrules", "build", *args], cwd=project,
                          env=environ, capture_output=True, text=True, timeout=300, check=False)


def executed(project: Path, *args: str, env: Mapping[str, str] | None = None) -> list[str]:
    """Build; what executed (sorted). Fails on a failed build."""
    runs = project / "kernel-runs.txt"
    seen = runs.read_text().splitlines() if runs.exists() else []
    done = nbrules_build(project, *args, env=env)
    assert done.returncode == 0, done.stderr[-5000:]
    now = runs.read_text().splitlines() if runs.exists() else []
    return sorted(now[len(seen):])

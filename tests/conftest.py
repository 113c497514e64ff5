"""Shared pytest setup: fixture projects copied to tmp_path, and a real Snakemake runner."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

# The example pipeline's helper package is imported by notebooks from workflow/src.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workflow" / "src"))

PROJECTS = Path(__file__).resolve().parent / "projects"
#: Left behind when someone runs a fixture project in place; never copied.
BUILD_LEFTOVERS = shutil.ignore_patterns(
    "results", "logs", ".snakemake", ".nbrules", "__pycache__", ".ipynb_checkpoints"
)
SNAKEMAKE_TIMEOUT = 180


def copy_project(name: str, tmp_path: Path) -> Path:
    """A fresh copy of ``tests/projects/<name>`` (sources only) under ``tmp_path``."""
    target = tmp_path / name
    shutil.copytree(PROJECTS / name, target, ignore=BUILD_LEFTOVERS)
    return target


def run_snakemake(
    cwd: Path, *args: str, timeout: float = SNAKEMAKE_TIMEOUT
) -> tuple[int, str]:
    """Run ``python -m snakemake`` in ``cwd``; (return code, stdout + stderr)."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("NBRULES_CACHE", None)  # each project copy keeps its own .nbrules/cache
    command = [sys.executable, "-m", "snakemake", "--cores", "1", *args]
    done = subprocess.run(
        command,
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout,
        check=False,
    )
    return done.returncode, done.stdout


def throwaway_venv(folder: Path) -> Path:
    """A fresh virtualenv that also sees this interpreter's packages; its ``python``.

    ``--system-site-packages`` alone would show the base interpreter's packages, not
    those of a virtualenv running the tests: a ``.pth`` file adds them (offline, so
    ``pip install --no-deps --no-build-isolation`` into it needs no download).
    """
    import site
    import venv

    venv.create(folder, system_site_packages=True, with_pip=True)
    python = folder / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    parents = [d for d in site.getsitepackages() if Path(d).is_dir()]
    lines = "".join(f"import site; site.addsitedir({d!r})\n" for d in parents)
    (Path(purelib) / "zz_parent_packages.pth").write_text(lines)
    return python


def rules_of(config: object, basedir: Path, tasks: object = None) -> list[Any]:
    """The rule specs ``notebooks.smk`` would declare for ``config`` (no Snakemake run)."""
    from nbrules.snakemake.rules import rules_from_config

    return rules_from_config(config, basedir, tasks)[1]  # type: ignore[arg-type]


#: Chromium's flags that work on a machine with no network and no display (as root).
CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
)


def chromium() -> str:
    """Debian's Chromium for browser tests: skipped where absent, but a failure in CI."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    reason = "no chromium on PATH (apt-get install chromium)" if found is None else ""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        reason = "playwright is not installed (pip install -e '.[test]')"
    if not reason:
        return str(found)
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        import pytest

        pytest.fail(f"browser tests must run in CI, but {reason}", pytrace=False)
    import pytest

    pytest.skip(reason)

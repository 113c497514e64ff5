"""Helpers shared by the cache benchmarks: running Snakemake, timing, Markdown tables."""

from __future__ import annotations

import atexit
import functools
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TARGET_RULES = frozenset({"notebooks", "all"})
TIMES = "\u00d7"  # the multiplication sign of ratios
EN_DASH = "\u2013"  # of ranges
_JOB = re.compile(r"^(?:local)?rule (\S+):$", re.MULTILINE)
_OUTCOME = re.compile(r"^nbrules: (\S+): cache (hit|miss)\b", re.MULTILINE)
_ERROR = re.compile(r"^[\w.]*(?:Error|Exception): .+$", re.MULTILINE)
RESTART = "Trying to restart job"


def progress(message: str) -> None:
    """Progress goes to stderr, so stdout stays paste-ready Markdown."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def environment(**extra: str) -> dict[str, str]:
    """This process's environment without nbrules' variables, plus ``extra``.

    ``PATH`` starts with :func:`slurm_shim`'s folder.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("NBRULES_")}
    env["PATH"] = os.pathsep.join([str(slurm_shim()), env.get("PATH", "")])
    return {**env, **extra}


@functools.cache
def slurm_shim() -> Path:
    """A folder holding a ``scontrol`` that fails at once.

    snakemake-executor-plugin-slurm (2.8) runs ``scontrol show config`` while Snakemake
    collects its plugins, i.e. at *every* Snakemake start, local runs included; with a
    ``slurm.conf`` but no controller answering, that takes ≈9 s (scontrol retries,
    then the plugin's 10 s timeout). Whether a controller answers depends on what
    else runs on the machine, and both variants would pay it alike, so benchmark runs
    skip it; :func:`slurm_probe_seconds` reports what it costs here.
    """
    folder = Path(tempfile.mkdtemp(prefix="nbrules-bench-shim-"))
    atexit.register(shutil.rmtree, folder, True)
    shim = folder / "scontrol"
    shim.write_text("#!/bin/sh\nexit 1\n")
    shim.chmod(0o755)
    return folder


def slurm_probe_seconds() -> tuple[float, float] | None:
    """``snakemake --version`` seconds without and with the shim, if scontrol exists."""
    if shutil.which("scontrol") is None:
        return None
    command = [sys.executable, "-m", "snakemake", "--version"]
    plain = {k: v for k, v in os.environ.items() if not k.startswith("NBRULES_")}
    return timed(command, Path.cwd(), plain), timed(command, Path.cwd(), environment())


@dataclass(frozen=True, slots=True)
class Build:
    """One Snakemake invocation: wall time, the jobs it ran, what each job did."""

    seconds: float
    jobs: tuple[str, ...]
    misses: tuple[str, ...]
    hits: tuple[str, ...]
    stderr: str

    @property
    def restarts(self) -> int:
        """Jobs Snakemake restarted after a failure (``--retries``)."""
        return self.stderr.count(RESTART)

    def errors(self) -> list[str]:
        return sorted(set(_ERROR.findall(self.stderr)))


def timed_run(command: Sequence[str], cwd: Path,
              env: dict[str, str]) -> tuple[subprocess.CompletedProcess[str], float]:
    """Run ``command`` in ``cwd`` and time it; exit the benchmark if it fails."""
    start = time.perf_counter()
    done = subprocess.run(list(command), cwd=cwd, env=env, capture_output=True, text=True,
                          check=False)
    seconds = time.perf_counter() - start
    if done.returncode:
        sys.exit(f"{' '.join(command)} failed in {cwd}:\n{done.stderr[-4000:]}")
    return done, seconds


def snakemake(cwd: Path, args: Sequence[str], env: dict[str, str]) -> Build:
    """Run ``python -m snakemake ARGS`` in ``cwd``; fail loudly if it fails."""
    done, seconds = timed_run([sys.executable, "-m", "snakemake", *args], cwd, env)
    jobs = tuple(j for j in _JOB.findall(done.stderr) if j not in TARGET_RULES)
    outcomes = _OUTCOME.findall(done.stderr)
    return Build(seconds, jobs, tuple(t for t, r in outcomes if r == "miss"),
                 tuple(t for t, r in outcomes if r == "hit"), done.stderr)


def timed(command: Sequence[str], cwd: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, cwd=cwd, env=env, check=True, capture_output=True)
    return time.perf_counter() - start


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A Markdown table: first column left-aligned, the others right-aligned."""
    lines = ["| " + " | ".join(headers) + " |",
             "|" + "---|" + "---:|" * (len(headers) - 1)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def seconds(value: float) -> str:
    return f"{value:.2f}" if value < 10 else f"{value:.1f}"


def ratio(numerator: float, denominator: float) -> str:
    if denominator <= 0:
        return "—"
    value = numerator / denominator
    return f"{value:,.0f}{TIMES}" if value >= 100 else f"{value:.2f}{TIMES}"

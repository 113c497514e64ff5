"""Crashes: kill -9 of a job (mid-execution, mid-publish, mid-restore), of Snakemake, of
``nbrules build``, and Ctrl-C — the next plain build finishes the work, correctly.

Mid-publish and mid-restore use the test-only fault points of
:mod:`nbrules.common.faults` (``NBRULES_FAULT=publish:<task>`` / ``restore:<task>``):
the job sends itself ``SIGKILL`` between writing a publish's objects and its
manifest, or between staging a restore and renaming it into place.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .harness import (
    TASKS,
    Build,
    all_events,
    build,
    data,
    environment,
    products,
    start,
    temps,
)


def leases(project: Path) -> list[Path]:
    return list((project / ".nbrules" / "cache" / "leases").glob("*"))


def gone(pid: int, timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
        except OSError:
            return True
        if state == "Z":
            return True
        time.sleep(0.1)
    return False


def entries_of(project: Path, task: str) -> list[Path]:
    return [p for p in (project / ".nbrules" / "cache" / "manifests").glob("*.json")
            if f'"task": "{task}"' in p.read_text()]


def misses(project: Path, task: str) -> int:
    store = project / ".nbrules" / "cache"
    return sum(1 for e in all_events(store) if e["task"] == task and e["result"] == "miss")


@pytest.mark.slow
def test_kill_9_of_a_job_mid_execution_then_the_next_build_finishes_the_work(
    fresh: Path, reference: Path, cleanup: list[Build]
) -> None:
    first = start(fresh, pause="square")
    cleanup.append(first)
    job = first.wait_for_pause("square")
    kernel = int((first.marks / "square").read_text())
    os.kill(job, signal.SIGKILL)
    first.wait()
    assert first.code != 0
    assert gone(kernel)  # the orphaned kernel ends by itself: nothing writes products later
    assert len(leases(fresh)) == 1  # the dead job's lease is still there …

    second = build(fresh)
    assert second.executed() == ["report", "square"]  # make-data finished in the first build
    assert data(fresh) == data(reference)
    assert not leases(fresh) and not temps(fresh)  # … and was taken over at once


@pytest.mark.slow
def test_kill_9_mid_publish_leaves_no_entry_and_the_next_build_runs_it_again(
    fresh: Path, reference: Path
) -> None:
    first = build(fresh, ok=False, NBRULES_FAULT="publish:square")
    assert first.code != 0
    assert "square" not in first.executed()  # killed before its one line and its event
    assert not entries_of(fresh, "square") and entries_of(fresh, "make-data")

    second = build(fresh)
    assert second.executed() == ["report", "square"]
    assert data(fresh) == data(reference)
    verify = subprocess.run([sys.executable, "-m", "nbrules", "cache", "verify"], cwd=fresh,
                            env=environment(fresh / ".nbrules/cache", "verify"),
                            capture_output=True, text=True, check=False)
    assert verify.returncode == 0, verify.stdout  # the killed publish left sound objects


@pytest.mark.slow
def test_kill_9_mid_restore_leaves_hidden_temps_that_the_next_build_removes(
    built: Path, reference: Path
) -> None:
    shutil.rmtree(built / "results")
    first = build(built, ok=False, NBRULES_FAULT="restore:make-data")
    assert first.code != 0
    left = temps(built)
    assert left and all(p.name.startswith(".") for p in left)
    assert not (built / "results/sample/data.txt").exists()  # never a half-restored target
    assert any(p.is_dir() for p in left)  # the staged folder product

    second = build(built)
    assert second.executed() == []
    assert products(built) == products(reference)  # restored notebooks too, byte for byte
    assert not temps(built)


@pytest.mark.slow
def test_gc_removes_the_temps_of_a_killed_restore(built: Path) -> None:
    shutil.rmtree(built / "results")
    build(built, ok=False, NBRULES_FAULT="restore:make-data")
    left = temps(built)
    assert left
    two_hours_ago = time.time() - 7200
    for path in left:
        os.utime(path, (two_hours_ago, two_hours_ago))
    gc = subprocess.run([sys.executable, "-m", "nbrules", "cache", "gc"], cwd=built,
                        env=environment(built / ".nbrules/cache", "gc"),
                        capture_output=True, text=True, check=False)
    assert gc.returncode == 0
    assert f"removed {len(left)} temp files left by crashes" in gc.stdout
    assert not temps(built)


@pytest.mark.slow
def test_kill_9_of_snakemake_then_the_next_build_recovers_by_itself(
    fresh: Path, reference: Path, cleanup: list[Build]
) -> None:
    first = start(fresh, pause="square", pause_seconds=6)
    cleanup.append(first)
    first.wait_for_pause("square")
    os.kill(first.process.pid, signal.SIGKILL)
    first.wait()
    assert list((fresh / ".snakemake" / "locks").glob("*.lock"))  # what --unlock would remove

    second = build(fresh)  # no --unlock, no --rerun-incomplete typed: the profile's settings
    assert "removed the stale Snakemake lock of a killed run" in second.output
    assert data(fresh) == data(reference)
    assert misses(fresh, "square") == 1  # the orphaned job finished it; the rebuild restored it
    assert "square" in second.hits()
    assert not list((fresh / ".snakemake" / "locks").glob("*.lock"))


@pytest.mark.slow
def test_kill_9_of_nbrules_build_then_the_next_build_recovers_by_itself(
    fresh: Path, reference: Path, cleanup: list[Build]
) -> None:
    args = ("build", "--configfile", "config.yaml")
    first = start(fresh, *args, command=("-m", "nbrules"), pause="square", pause_seconds=6)
    cleanup.append(first)
    first.wait_for_pause("square")
    os.kill(first.process.pid, signal.SIGKILL)
    first.wait()

    second = build(fresh, *args, command=("-m", "nbrules"))  # nbrules build: --rerun-incomplete
    assert "removed the stale Snakemake lock of a killed run" in second.output
    assert data(fresh) == data(reference)
    assert misses(fresh, "square") == 1


@pytest.mark.slow
def test_ctrl_c_of_snakemake_then_the_next_build_finishes_the_work(
    fresh: Path, reference: Path, cleanup: list[Build]
) -> None:
    first = start(fresh, pause="square")
    cleanup.append(first)
    first.wait_for_pause("square")
    os.killpg(first.process.pid, signal.SIGINT)  # a terminal's Ctrl-C: the foreground group
    first.wait(timeout=120)
    assert first.code != 0

    second = build(fresh)
    assert "square" in second.executed() and "make-data" not in second.executed()
    assert data(fresh) == data(reference)
    assert not leases(fresh) and not temps(fresh)
    assert sorted({str(e["task"]) for e in all_events(fresh / ".nbrules/cache")
                   if e["result"] == "miss"}) == sorted(TASKS)

"""Forcing (``--forceall``, ``--forcerun``, ``nbrules build --force``) and notebooks
declaring ``cache = False``, on real Snakemake runs with real kernels.

Each build's jobs are read from the store's events (hit = restored, miss = executed,
with the reason the job gave).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from conftest import copy_project

pytestmark = pytest.mark.slow


def build(project: Path, *args: str, nbrules: bool = False) -> dict[str, tuple[str, str]]:
    """Run a build; ``{task: (hit|miss, reason)}`` of the jobs it ran."""
    build_id = f"force-{uuid.uuid4().hex[:8]}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("NBRULES_")}
    env["NBRULES_BUILD_ID"] = build_id
    command = ([sys.executable, "-m", "nbrules", "build", *args] if nbrules else
               [sys.executable, "-m", "snakemake", "--cores", "1", *args])
    done = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    events = project / ".nbrules/cache/events" / build_id
    return {event["task"]: (event["result"], event["reason"])
            for path in sorted(events.glob("*.jsonl"))
            for event in map(json.loads, path.read_text().splitlines())}


FORCED = "forced (--forceall, --forcerun or --force)"
UNCACHED = "cache = False: it executes whenever it is scheduled"


@pytest.fixture
def chain(tmp_path: Path) -> Path:
    project = copy_project("chain", tmp_path)
    assert {r for r, _ in build(project).values()} == {"miss"}
    return project


def test_forceall_executes_every_notebook_instead_of_restoring(chain: Path) -> None:
    jobs = build(chain, "--forceall")
    assert jobs == dict.fromkeys(("make-numbers", "square", "total"), ("miss", FORCED))


def test_forcerun_executes_the_named_notebook_and_downstream_restores(chain: Path) -> None:
    jobs = build(chain, "--forcerun", "square")
    assert jobs["square"] == ("miss", FORCED)
    assert jobs["total"][0] == "hit"  # square's products came out identical: early cutoff
    assert "make-numbers" not in jobs


def test_force_of_a_target_file_executes_its_notebook(chain: Path) -> None:
    jobs = build(chain, "--force", "results/squares.txt")
    assert jobs == {"square": ("miss", FORCED)}


def test_nbrules_build_force_executes_every_task_as_ploomber_does(tmp_path: Path) -> None:
    project = copy_project("ploomber-basic", tmp_path)
    first = build(project, nbrules=True)
    assert len(first) == 4 and {r for r, _ in first.values()} == {"miss"}
    assert build(project, nbrules=True) == {}  # nothing to do
    again = build(project, "--force", nbrules=True)
    assert again == dict.fromkeys(first, ("miss", FORCED))


def test_cache_false_executes_whenever_scheduled_and_still_feeds_early_cutoff(
    tmp_path: Path,
) -> None:
    project = copy_project("uncached", tmp_path)
    assert build(project) == {"clock": ("miss", UNCACHED), "use": ("miss", "first build")}
    assert not list((project / ".nbrules/cache/manifests").glob("*")) or all(
        json.loads(p.read_text())["task"] != "clock"
        for p in (project / ".nbrules/cache/manifests").glob("*.json"))
    (project / "results/clock.txt").unlink()
    jobs = build(project)
    assert jobs["clock"] == ("miss", UNCACHED)  # never restored from the cache
    assert jobs["use"][0] == "hit"  # same bytes downstream: restored, not executed

"""Concurrent builds on one store: every key is executed exactly once, every product correct.

Each build runs in its own checkout (a copy of the fixture) with ``NBRULES_CACHE``
pointing at one shared store, all started together. Executions are counted from
the store's events across every build id: one ``miss`` per task in total.
"""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import pytest

from .harness import FIXTURE, IGNORE, TASKS, Build, all_events, data, products, start, temps


def checkouts(tmp_path: Path, count: int) -> list[Path]:
    found = []
    for index in range(count):
        project = tmp_path / f"checkout-{index}"
        shutil.copytree(FIXTURE, project, ignore=IGNORE)
        found.append(project)
    return found


@pytest.mark.slow
@pytest.mark.parametrize("count", [2, 4])
def test_concurrent_builds_on_one_store_execute_each_key_once(
    tmp_path: Path, reference: Path, cleanup: list[Build], count: int
) -> None:
    store = tmp_path / "shared-store"
    # make-data lingers 3 s in whichever build executes it, so the others surely find
    # its lease held (builds start within a fraction of a second of each other).
    builds = [start(project, store=store, pause="make-data", pause_seconds=3)
              for project in checkouts(tmp_path, count)]
    cleanup.extend(builds)
    for one in builds:
        one.wait()
        assert one.code == 0, one.output[-4000:]
    executed = Counter(str(e["task"]) for e in all_events(store) if e["result"] == "miss")
    assert executed == dict.fromkeys(TASKS, 1)
    waited = {str(e["task"]) for e in all_events(store)
              if e["result"] == "hit" and float(str(e["waited"])) > 0}
    assert "make-data" in waited  # a build really waited for another: the lease held
    first = products(builds[0].project)
    for one in builds:
        assert data(one.project) == data(reference)
        assert products(one.project) == first  # restored notebooks: the very same bytes
        assert not temps(one.project)
    assert not list((store / "leases").iterdir())

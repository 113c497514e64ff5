"""A full disk or a read-only store: the build still delivers its products, and warns once.

The store lives on a real file system of its own: a tiny ``tmpfs`` (full after a
few pages) or a ``tmpfs`` remounted read-only. Mounting needs root (as in CI); where
it is not possible the tests skip, or fail under ``CI=true``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from .harness import build, data

WARNING = "warning: the cache store "
Mount = Callable[[str], Path]


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Mount]:
    """``tmpfs(size)``: a fresh tmpfs of ``size`` (e.g. ``"8k"``), unmounted afterwards."""
    mounted: list[Path] = []

    def mount(size: str) -> Path:
        point = tmp_path / f"fs-{len(mounted)}"
        point.mkdir()
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs",
                               str(point)], capture_output=True, text=True, check=False)
        if done.returncode != 0:
            reason = f"cannot mount a tmpfs here: {done.stderr.strip()}"
            if os.environ.get("CI") == "true":
                pytest.fail(reason)
            pytest.skip(reason)
        mounted.append(point)
        return point

    yield mount
    for point in mounted:
        subprocess.run(["umount", "-l", str(point)], check=False)


def remount_read_only(point: Path) -> None:
    subprocess.run(["mount", "-o", "remount,ro", str(point)], check=True)


@pytest.mark.slow
def test_a_full_store_still_delivers_every_product_and_warns_once(
    fresh: Path, reference: Path, tmpfs: Mount
) -> None:
    store = tmpfs("8k") / "store"  # two pages: full after the first small file
    done = build(fresh, store=store)
    assert data(fresh) == data(reference)
    assert done.output.count(WARNING) == 1, done.output[-4000:]
    assert "cannot be written (No space left on device)" in done.output
    notes = [line for line in done.output.splitlines() if "; not cached:" in line]
    assert len(notes) >= 2  # every job that could not publish says so on its own line


@pytest.mark.slow
def test_a_read_only_store_still_serves_hits_and_delivers_misses_warning_once(
    fresh: Path, reference: Path, tmpfs: Mount
) -> None:
    point = tmpfs("64m")
    store = point / "store"
    build(fresh, store=store)
    remount_read_only(point)

    shutil.rmtree(fresh / "results")
    restored = build(fresh, store=store)
    assert restored.executed() == [] and data(fresh) == data(reference)  # events: nowhere…
    assert WARNING not in restored.output
    assert restored.output.count("cache hit") == 3  # … but each job's line says it

    source = fresh / "notebooks" / "square.py"
    source.write_text(source.read_text().replace("str(v * v)", "str(v * v + 1)"))
    changed = build(fresh, store=store)
    assert changed.output.count(WARNING) == 1, changed.output[-4000:]
    assert "cannot be written (Read-only file system)" in changed.output
    squares = (fresh / "results/sample/squares.txt").read_text().split()
    assert squares == [str(v * v + 1) for v in range(6)]
    assert "nbrules: report: cache miss" in changed.output  # ran on the new squares

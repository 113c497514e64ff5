"""notices: a warning shared by every job of a build is given by exactly one of them."""

from __future__ import annotations

import multiprocessing
import os
import time
from pathlib import Path

from nbrules.run.notices import NOTICES, first_time


def _ask(args: tuple[str, str]) -> bool:
    return first_time(Path(args[0]), args[1], "store-unwritable")


def test_exactly_one_concurrent_job_gives_the_notice(tmp_path: Path) -> None:
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        answers = pool.map(_ask, [(str(tmp_path), "build-1")] * 12)
    assert answers.count(True) == 1
    assert first_time(tmp_path, "build-2", "store-unwritable")  # per build
    assert first_time(tmp_path, "build-1", "other-kind")  # per kind


def test_without_a_writable_working_directory_the_notice_is_given(tmp_path: Path) -> None:
    (tmp_path / ".nbrules").write_text("a file where the folder should be")
    assert first_time(tmp_path, "b", "k") and first_time(tmp_path, "b", "k")


def test_notices_of_old_builds_are_forgotten(tmp_path: Path) -> None:
    assert first_time(tmp_path, "old", "k")
    old = tmp_path / NOTICES / "old"
    stamp = time.time() - 8 * 86400
    os.utime(old, (stamp, stamp))
    assert first_time(tmp_path, "new", "k")
    assert not old.exists()

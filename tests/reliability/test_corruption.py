"""A damaged store never serves a wrong byte: the entry is dropped, the notebook runs again.

Each case damages one entry of a built store (an object truncated, bit-flipped,
missing, replaced by a symlink or a folder; a manifest garbled, a symlink, or
another key's), deletes the results, and rebuilds with default settings. The
damaged task is executed again with the reason ``cache entry damaged: …``; every
product comes out byte-identical to the reference; downstream jobs still restore.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from .harness import build, data

STORE = Path(".nbrules/cache")


def manifest_of(project: Path, task: str) -> Path:
    return next(p for p in (project / STORE / "manifests").glob("*.json")
                if json.loads(p.read_text())["task"] == task)


def object_of(project: Path, task: str, product: str = "data") -> Path:
    entry = json.loads(manifest_of(project, task).read_text())["products"][product]
    digest = str((entry["files"][0] if "files" in entry else entry)["object"]).split(":")[1]
    path: Path = project / STORE / "objects" / digest[:2] / digest
    path.chmod(0o644)
    return path


def truncate(project: Path) -> None:
    path = object_of(project, "square")
    path.write_bytes(path.read_bytes()[:-3])


def flip(project: Path, task: str = "square", product: str = "data") -> None:
    path = object_of(project, task, product)
    data = bytearray(path.read_bytes())
    data[0] ^= 0x01  # same size: only the digest can tell
    path.write_bytes(bytes(data))


def remove(project: Path) -> None:
    object_of(project, "square").unlink()


def symlink_to_secret(project: Path) -> None:
    path = object_of(project, "square")
    secret = project.parent / "secret.txt"
    secret.write_bytes(b"S" * path.stat().st_size)  # readable, and of the right size
    path.unlink()
    path.symlink_to(secret)


def folder_instead(project: Path) -> None:
    path = object_of(project, "square")
    path.unlink()
    path.mkdir()


def garble(project: Path) -> None:
    path = manifest_of(project, "report")
    path.chmod(0o644)
    path.write_text(path.read_text()[:40])


def symlink_manifest(project: Path) -> None:
    path = manifest_of(project, "report")
    elsewhere = project.parent / "manifest-copy.json"
    shutil.copy(path, elsewhere)
    path.unlink()
    path.symlink_to(elsewhere)


def another_keys(project: Path) -> None:
    path = manifest_of(project, "report")
    path.chmod(0o644)
    path.write_text(manifest_of(project, "square").read_text())


CASES: dict[str, tuple[Callable[[Path], None], str, str]] = {
    "truncated object": (truncate, "square", "has the wrong size"),
    "bit-flipped object": (flip, "square", "is corrupt (its bytes hash to"),
    "missing object": (remove, "square", "is missing"),
    "symlinked object": (symlink_to_secret, "square", "is a symbolic link: refused"),
    "folder in place of an object": (folder_instead, "square", "is not a regular file"),
    "bit-flipped file of a folder product": (lambda p: flip(p, "make-data", "parts"),
                                             "make-data", "is corrupt"),
    "garbled manifest": (garble, "report", "is garbled"),
    "symlinked manifest": (symlink_manifest, "report", "is a symbolic link: refused"),
    "manifest of another key": (another_keys, "report", "holds key"),
}


@pytest.mark.slow
@pytest.mark.parametrize("case", list(CASES))
def test_a_damaged_entry_is_dropped_and_the_notebook_runs_again(
    built: Path, reference: Path, case: str
) -> None:
    damage, task, reason = CASES[case]
    damage(built)
    shutil.rmtree(built / "results")
    rebuilt = build(built)
    assert rebuilt.executed() == [task]
    line = rebuilt.line(task)
    assert "— cache entry damaged: " in line and reason in line, line
    assert data(built) == data(reference)
    assert b"SSS" not in (built / "results/sample/squares.txt").read_bytes()
    assert sorted(rebuilt.hits()) == sorted({"make-data", "square", "report"} - {task})
    secret = built.parent / "secret.txt"
    assert not secret.exists() or secret.read_bytes().startswith(b"S")  # never touched


@pytest.mark.slow
def test_the_original_report_a_flipped_byte_no_longer_reaches_downstream(
    built: Path, reference: Path
) -> None:
    """The issue's first case: one byte flipped in a stored product, default settings."""
    flip(built, "square")
    (built / "results/sample/squares.txt").unlink()  # only square must be restored
    rebuilt = build(built)
    assert rebuilt.executed() == ["square"]  # re-executed, not served …
    assert "report" in rebuilt.hits()  # … and its correct output cuts off downstream
    assert data(built) == data(reference)
    assert not os.path.islink(built / "results/sample/squares.txt")

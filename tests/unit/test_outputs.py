"""outputs: files a notebook wrote under the output root that no product declares."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from nbrules.cache.trees import SNAKEMAKE_STAMP
from nbrules.run import outputs


def write(path: Path, data: str = "x") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(data)


def test_new_and_changed_files_are_found_hidden_temp_and_skipped_ones_not(tmp_path: Path) -> None:
    root = tmp_path / "results"
    write(root / "kept.txt")
    write(root / "changed.txt")
    before = outputs.snapshot(root, [root / "logs"])
    write(root / "new.csv")
    write(root / "changed.txt", "longer")
    write(root / "deep" / "inner.bin")
    for ignored in (".git/x", ".snakemake/y", "__pycache__/z.pyc", "logs/a.log",
                    ".data.csv.1a2b3c4d.nbrules-tmp", f"folder/{SNAKEMAKE_STAMP}"):
        write(root / ignored)
    after = outputs.snapshot(root, [root / "logs"])
    assert outputs.written(before, after) == ["changed.txt", "deep/inner.bin", "new.csv"]


def test_a_file_rewritten_with_new_content_counts_even_at_the_same_size(tmp_path: Path) -> None:
    root = tmp_path
    write(root / "same.txt", "aaaa")
    before = outputs.snapshot(root)
    os.unlink(root / "same.txt")
    write(root / "same.txt", "bbbb")  # another inode
    assert outputs.written(before, outputs.snapshot(root)) == ["same.txt"]


def test_declared_files_and_everything_inside_declared_folders_are_not_reported() -> None:
    found = ["a.csv", "model/w.bin", "model/sub/x", "modelx/y", "other/z", "b.txt"]
    declared = {"a.csv", "model/", "b.txt/"}
    assert outputs.undeclared(found, declared) == ["modelx/y", "other/z", "b.txt"]


def test_warnings_name_the_notebook_and_each_path_capped(tmp_path: Path) -> None:
    paths = [f"extra-{i:02}.csv" for i in range(13)]
    lines = outputs.warnings("notebooks/clean.py", "clean", "results/s", paths)
    assert lines[0] == ("notebooks/clean.py: warning: notebook 'clean' wrote "
                        "results/s/extra-00.csv during its run, which no product declares")
    assert len(lines) == outputs.MAX_LINES + 2
    assert lines[-2].endswith("… and 3 more undeclared files")
    assert lines[-1].startswith("hint: declare them in product")
    assert outputs.warnings("x.py", "x", ".", []) == []


def test_a_huge_output_root_is_not_checked(tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(outputs, "MAX_FILES", 3)
    for i in range(5):
        write(tmp_path / f"f{i}")
    before = outputs.snapshot(tmp_path)
    write(tmp_path / "new")
    assert not before.complete
    assert outputs.written(before, outputs.snapshot(tmp_path)) == []

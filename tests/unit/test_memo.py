"""The discovery memo: declarations and upstream references remembered by file stat."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from nbrules.plan import memo as memo_module
from nbrules.plan.declarations import discover
from nbrules.plan.memo import DiscoveryMemo, Scan, scan, upstream_references

NOTEBOOK = '''# %% tags=["parameters"]
upstream = ["make", "plot"]
product = {"nb": "use.ipynb", "data": "use.txt"}
factor = {factor}

# %%
data = open(upstream["make"]["data"]).read()
html = upstream["plot"]["nb"]
'''


def old(path: Path, text: str) -> Path:
    """Write ``text`` and let it age past the racy window (ctime cannot be set back)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    time.sleep(memo_module.RACY_NS / 1e9 + 0.01)
    return path


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    old(tmp_path / "notebooks" / "use.py", NOTEBOOK.replace("{factor}", "2"))
    old(tmp_path / "notebooks" / "helper.py", "def f():\n    return 1\n")
    return tmp_path / "notebooks"


def test_references_name_notebook_reads_and_every_subscript(tmp_path: Path) -> None:
    text = NOTEBOOK.replace("{factor}", "1")
    assert upstream_references(tmp_path / "n.py", text) == (("plot",), ("make", "plot"))


def test_a_second_discovery_opens_no_notebook(
    folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = tmp_path / "memo.json"
    first = DiscoveryMemo(store)
    tasks = discover(folder, first)
    first.save()
    assert store.is_file()

    def no_reading(path: Path) -> Scan:
        raise AssertionError(f"read {path} although remembered")

    monkeypatch.setattr(memo_module, "scan_file", no_reading)
    assert discover(folder, DiscoveryMemo(store)) == tasks


def test_an_edited_notebook_is_read_again(folder: Path, tmp_path: Path) -> None:
    store = tmp_path / "memo.json"
    first = DiscoveryMemo(store)
    (before,) = discover(folder, first)
    first.save()
    old(folder / "use.py", NOTEBOOK.replace("{factor}", "3"))
    (after,) = discover(folder, DiscoveryMemo(store))
    assert (before.params["factor"], after.params["factor"]) == (2, 3)


def test_a_file_written_just_now_is_not_remembered(tmp_path: Path) -> None:
    fresh = tmp_path / "fresh.py"
    fresh.write_text(NOTEBOOK.replace("{factor}", "1"))
    memo = DiscoveryMemo(tmp_path / "memo.json")
    memo.scan(fresh)
    assert not memo.dirty  # a write in the same timestamp tick could go unseen


def test_a_damaged_memo_is_ignored(folder: Path, tmp_path: Path) -> None:
    store = tmp_path / "memo.json"
    store.write_text("{not json")
    assert [t.name for t in discover(folder, DiscoveryMemo(store))] == ["use"]


def test_memo_and_plain_scans_agree(folder: Path, tmp_path: Path) -> None:
    path = folder / "use.py"
    memo = DiscoveryMemo(tmp_path / "memo.json")
    first = memo.scan(path)
    memo.save()
    assert first == scan(path, path.read_text()) == DiscoveryMemo(tmp_path / "memo.json").scan(
        path)

"""trees and manifests: folder products cached as trees, restored whole, digested by content."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from nbrules.cache import admin
from nbrules.cache.digests import digest_bytes, digest_file
from nbrules.cache.manifest import Manifest, safe_relative
from nbrules.cache.store import Store
from nbrules.cache.trees import SNAKEMAKE_STAMP, folder_digest, path_digest, walk
from nbrules.common.errors import CacheError, DamagedEntry

KEY = digest_bytes(b"folder key")


def tree(root: Path, files: dict[str, bytes], dirs: tuple[str, ...] = ()) -> Path:
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    for name in dirs:
        (root / name).mkdir(parents=True, exist_ok=True)
    return root


FILES = {"a.txt": b"a\n", "sub/b.bin": b"\x00\x01", "sub/deep/c.txt": b"c" * 3000}


def test_walk_lists_files_and_every_subfolder_but_not_snakemakes_stamp(tmp_path: Path) -> None:
    folder = tree(tmp_path / "f", {**FILES, SNAKEMAKE_STAMP: b""}, ("empty",))
    found = walk(folder)
    assert [rel for rel, _ in found.files] == ["a.txt", "sub/b.bin", "sub/deep/c.txt"]
    assert found.dirs == ("empty", "sub", "sub/deep") and found.other == ()


@pytest.mark.parametrize("change", [
    lambda f: (f / "a.txt").write_bytes(b"A\n"),
    lambda f: (f / "a.txt").rename(f / "renamed.txt"),
    lambda f: (f / "new.txt").write_bytes(b""),
    lambda f: (f / "sub/b.bin").unlink(),
    lambda f: (f / "empty2").mkdir(),
])
def test_the_tree_digest_changes_with_any_name_byte_or_folder(tmp_path: Path,
                                                              change: object) -> None:
    folder = tree(tmp_path / "f", FILES, ("empty",))
    before = folder_digest(folder, digest_file)
    change(folder)  # type: ignore[operator]
    assert folder_digest(folder, digest_file) != before


def test_the_tree_digest_ignores_snakemakes_stamp_and_mtimes(tmp_path: Path) -> None:
    folder = tree(tmp_path / "f", FILES)
    before = folder_digest(folder, digest_file)
    (folder / SNAKEMAKE_STAMP).write_bytes(b"")
    os.utime(folder / "a.txt", (1, 1))
    assert folder_digest(folder, digest_file) == before == path_digest(folder, digest_file)
    assert path_digest(folder / "a.txt", digest_file) == digest_bytes(b"a\n")


def test_a_folder_round_trips_through_the_store(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "store")
    folder = tree(tmp_path / "made" / "model", FILES, ("empty",))
    manifest = store.publish(KEY, "t", {"model": (folder, "model/")})
    entry = manifest.products["model"]
    assert entry.is_folder and entry.object == folder_digest(folder, digest_file)
    assert entry.size == sum(len(v) for v in FILES.values())
    assert store.lookup(KEY) == manifest
    target = tmp_path / "results" / "model"
    store.restore(manifest, {"model": target})
    assert folder_digest(target, digest_file) == entry.object
    assert (target / "empty").is_dir()
    assert sorted(p.name for p in target.parent.iterdir()) == ["model"]  # no temp left


def test_restoring_a_folder_replaces_the_old_one_whole(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "store")
    manifest = store.publish(KEY, "t", {"model": (tree(tmp_path / "m", FILES), "model/")})
    target = tree(tmp_path / "out" / "model", {"stale.txt": b"old", "a.txt": b"old"})
    store.restore(manifest, {"model": target})
    assert not (target / "stale.txt").exists()
    assert (target / "a.txt").read_bytes() == b"a\n"
    assert sorted(p.name for p in target.parent.iterdir()) == ["model"]


def test_a_corrupt_file_in_a_folder_fails_the_whole_restore(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "store")
    manifest = store.publish(KEY, "t", {"model": (tree(tmp_path / "m", FILES), "model/")})
    inner = next(f for f in manifest.products["model"].files or () if f.path == "sub/b.bin")
    obj = store.object_path(inner.object)
    obj.chmod(0o644)
    obj.write_bytes(b"\x00\x02")
    target = tmp_path / "out" / "model"
    with pytest.raises(DamagedEntry, match="is corrupt"):
        store.restore(manifest, {"model": target})
    assert not list((tmp_path / "out").iterdir())


def test_a_folder_holding_a_link_is_not_cached(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "store")
    folder = tree(tmp_path / "m", FILES)
    (folder / "link").symlink_to("/etc/hostname")
    with pytest.raises(CacheError, match="link or a special file"):
        store.publish(KEY, "t", {"model": (folder, "model/")})
    assert store.lookup(KEY) is None


def test_gc_and_verify_see_the_objects_inside_trees(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "store")
    store.publish(KEY, "t", {"model": (tree(tmp_path / "m", FILES), "model/")})
    assert admin.verify(store).ok
    report = admin.gc(store, grace=0.0)
    assert report.objects == 0 and report.kept_entries == 1
    assert len(list(admin.objects(store))) == 3


@pytest.mark.parametrize("path", ["../x", "/etc/passwd", "a/../../x", "a//b", "./a", "", "a\\b"])
def test_unsafe_relative_paths_are_refused(path: str) -> None:
    with pytest.raises(ValueError, match="unsafe relative path"):
        safe_relative(path)


@pytest.mark.parametrize("edit", [
    lambda e: e["files"][0].update(path="../../escape.txt"),
    lambda e: e["files"][0].update(path="/etc/passwd"),
    lambda e: e["dirs"].append("../up"),
    lambda e: e["files"][0].update(object="xxh3-128:" + "0" * 32),  # listing != tree digest
    lambda e: e["files"][0].update(size=-1),
    lambda e: e.update(object="sha256:" + "0" * 64),
])
def test_a_tampered_tree_listing_is_a_damaged_entry(tmp_path: Path, edit: object) -> None:
    store = Store.open(tmp_path / "store")
    store.publish(KEY, "t", {"model": (tree(tmp_path / "m", FILES), "model/")})
    path = store.manifest_path(KEY)
    data = json.loads(path.read_text())
    edit(data["products"]["model"])  # type: ignore[operator]
    path.chmod(0o644)
    path.write_text(json.dumps(data))
    with pytest.raises(DamagedEntry, match="garbled"):
        store.lookup(KEY)


def test_a_file_manifest_still_reads_as_before(tmp_path: Path) -> None:
    text = json.dumps({"format": "nbrules-cache-v1", "key": str(KEY), "task": "t",
                       "products": {"d": {"object": digest_bytes(b"x"), "size": 1, "path": "d"}},
                       "notebook": None, "seconds": 1.0, "created": 2.0})
    manifest = Manifest.from_json(text)
    assert not manifest.products["d"].is_folder
    assert json.loads(manifest.to_json())["products"] == json.loads(text)["products"]

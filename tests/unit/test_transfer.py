"""transfer: every restored byte is checked, and nothing is read through a link in the store."""

from __future__ import annotations

import os
import stat
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from nbrules.cache import digests, transfer
from nbrules.cache.digests import digest_bytes
from nbrules.cache.statcache import StatCache
from nbrules.cache.store import Manifest, Store
from nbrules.common.errors import DamagedEntry

KEY = digest_bytes(b"key")


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store.open(tmp_path / "store")


def published(store: Store, tmp_path: Path, data: bytes = b"value\n") -> Manifest:
    source = tmp_path / "made" / "data.txt"
    source.parent.mkdir(exist_ok=True)
    source.write_bytes(data)
    return store.publish(KEY, "task", {"data": (source, "data.txt")})


def object_of(store: Store, manifest: Manifest) -> Path:
    return store.object_path(manifest.products["data"].object)


def flip_a_byte(path: Path) -> None:
    path.chmod(0o644)
    data = bytearray(path.read_bytes())
    data[0] ^= 0x01
    path.write_bytes(bytes(data))


def aged(path: Path) -> None:
    """Older than the stat cache's racy window (a fresh file is never trusted)."""
    old = time.time() - 60
    os.utime(path, (old, old))


@pytest.mark.parametrize("link", ["copy", "hardlink", "symlink"])
def test_a_flipped_byte_is_never_served_in_any_link_mode(store: Store, tmp_path: Path,
                                                         link: str) -> None:
    manifest = published(store, tmp_path)
    flip_a_byte(object_of(store, manifest))
    target = tmp_path / "out" / "data.txt"
    target.parent.mkdir()
    with pytest.raises(DamagedEntry, match="is corrupt") as caught:
        store.restore(manifest, {"data": target}, link=link)
    assert caught.value.bad_object == object_of(store, manifest)
    assert not target.exists() and not list(target.parent.iterdir())


def test_a_linked_object_this_host_hashed_is_not_read_again(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    manifest = published(store, tmp_path)
    aged(object_of(store, manifest))
    reads: list[object] = []
    real = digests.digest_stream

    def counting(*args: Any) -> str:
        reads.append(args)
        return real(*args)

    monkeypatch.setattr(transfer, "digest_stream", counting)
    with StatCache(tmp_path / "stat.sqlite") as trust:
        for index in range(3):
            store.restore(manifest, {"data": tmp_path / f"t{index}"}, link="hardlink",
                          trust=trust)
        assert len(reads) == 1  # the first restore hashed it; linking changed only ctime
        store.restore(manifest, {"data": tmp_path / "v"}, link="hardlink", trust=trust,
                      verify=True)
        assert len(reads) == 2  # cache_verify: true re-hashes anyway


def test_an_edit_in_place_of_a_hardlinked_product_is_caught(store: Store,
                                                           tmp_path: Path) -> None:
    manifest = published(store, tmp_path)
    aged(object_of(store, manifest))
    with StatCache(tmp_path / "stat.sqlite") as trust:
        first = tmp_path / "first"
        store.restore(manifest, {"data": first}, link="hardlink", trust=trust)
        first.chmod(0o644)
        first.write_bytes(b"VALUE\n")  # the same inode as the object
        with pytest.raises(DamagedEntry, match="is corrupt"):
            store.restore(manifest, {"data": tmp_path / "second"}, link="hardlink", trust=trust)


def test_copies_are_hashed_while_copied_even_when_trusted(store: Store, tmp_path: Path) -> None:
    manifest = published(store, tmp_path)
    obj = object_of(store, manifest)
    aged(obj)
    with StatCache(tmp_path / "stat.sqlite") as trust:
        store.restore(manifest, {"data": tmp_path / "a"}, trust=trust)
        before = obj.stat()
        flip_a_byte(obj)
        os.utime(obj, ns=(before.st_atime_ns, before.st_mtime_ns))  # hide it from stat
        with pytest.raises(DamagedEntry, match="is corrupt"):
            store.restore(manifest, {"data": tmp_path / "b"}, trust=trust)


def test_a_symlink_in_place_of_an_object_is_refused_and_removed(store: Store,
                                                               tmp_path: Path) -> None:
    manifest = published(store, tmp_path, b"secret\n")
    obj = object_of(store, manifest)
    secret = tmp_path / "secret.txt"
    secret.write_bytes(b"secret\n")  # same bytes, same size: only the link is wrong
    obj.unlink()
    obj.symlink_to(secret)
    target = tmp_path / "out.txt"
    with pytest.raises(DamagedEntry, match="symbolic link: refused") as caught:
        store.restore(manifest, {"data": target})
    assert not target.exists()
    store.drop(KEY, caught.value.bad_object)
    assert not os.path.lexists(obj) and secret.read_bytes() == b"secret\n"


def test_a_symlinked_object_folder_is_refused(store: Store, tmp_path: Path) -> None:
    manifest = published(store, tmp_path)
    folder = object_of(store, manifest).parent
    elsewhere = tmp_path / "elsewhere"
    folder.rename(elsewhere)
    folder.symlink_to(elsewhere)
    with pytest.raises(DamagedEntry, match="symbolic link") as caught:
        store.restore(manifest, {"data": tmp_path / "out"})
    assert caught.value.bad_object == folder
    store.drop(KEY, caught.value.bad_object)
    assert not os.path.lexists(folder) and list(elsewhere.iterdir())


def test_a_fifo_or_a_folder_in_place_of_an_object_is_refused_without_hanging(
    store: Store, tmp_path: Path
) -> None:
    manifest = published(store, tmp_path)
    obj = object_of(store, manifest)
    obj.unlink()
    os.mkfifo(obj)
    outcome: list[BaseException] = []

    def restore() -> None:
        try:
            store.restore(manifest, {"data": tmp_path / "out"})
        except DamagedEntry as error:
            outcome.append(error)

    worker = threading.Thread(target=restore, daemon=True)
    worker.start()
    worker.join(30)
    assert outcome and "not a regular file" in str(outcome[0])
    obj.unlink()
    obj.mkdir()
    with pytest.raises(DamagedEntry, match="not a regular file"):
        store.restore(manifest, {"data": tmp_path / "out"})


@pytest.mark.parametrize("how", ["symlink", "folder-symlink"])
def test_a_symlinked_manifest_is_a_damaged_entry(store: Store, tmp_path: Path, how: str) -> None:
    published(store, tmp_path)
    path = store.manifest_path(KEY)
    copy = tmp_path / "copy.json"
    copy.write_bytes(path.read_bytes())
    if how == "symlink":
        path.unlink()
        path.symlink_to(copy)
    else:
        moved = tmp_path / "manifests-elsewhere"
        path.parent.rename(moved)
        path.parent.symlink_to(moved)
    with pytest.raises(DamagedEntry, match="symbolic link: refused"):
        store.lookup(KEY)
    store.drop(KEY)
    assert store.lookup(KEY) is None and copy.exists()


def test_publishing_into_a_planted_link_writes_inside_the_store(store: Store,
                                                               tmp_path: Path) -> None:
    manifest = published(store, tmp_path)
    folder = object_of(store, manifest).parent
    outside = tmp_path / "outside"
    outside.mkdir()
    for path in folder.iterdir():
        path.chmod(0o644)
        path.unlink()
    folder.rmdir()
    folder.symlink_to(outside)
    again = published(store, tmp_path)
    assert not list(outside.iterdir())
    assert object_of(store, again).parent.is_dir() and not folder.is_symlink()
    assert stat.S_ISREG(os.lstat(object_of(store, again)).st_mode)

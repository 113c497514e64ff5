"""cache and cache_admin: the key encoding, publish/restore, crashes, concurrency, gc."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import stat
import time
from pathlib import Path
from typing import Any

import pytest

from nbrules.cache import admin as cache_admin
from nbrules.cache import store as cache
from nbrules.cache.digests import digest_bytes, short
from nbrules.cache.key import FORMAT, KeyParts, miss_reason
from nbrules.cache.store import Manifest, Store, store_root
from nbrules.common.errors import CacheError, DamagedEntry
from nbrules.common.files import is_temp, remove_temps_of

PARTS = KeyParts(
    code="xxh3-128:" + "c" * 32,
    params={"sample_frac": 0.5, "name": "x"},
    products={"nb": "clean.ipynb", "data": "clean.txt"},
    single=False,
    kernel="python3",
    inputs={"get-data/data": "xxh3-128:" + "d" * 32},
)


def parts(**changes: Any) -> KeyParts:
    values = {f: getattr(PARTS, f) for f in KeyParts.__dataclass_fields__}
    return KeyParts(**{**values, **changes})


# ---------------------------------------------------------------- the key


def test_key_encoding_is_the_documented_canonical_json() -> None:
    assert PARTS.canonical() == (
        b'{"algorithm":"xxh3-128","code":"xxh3-128:' + b"c" * 32 + b'",'
        b'"format":"nbrules-cache-v1","inputs":{"get-data/data":"xxh3-128:' + b"d" * 32
        + b'"},"kernel":"python3","params":{"name":"x","sample_frac":0.5},'
        b'"products":{"data":"clean.txt","nb":"clean.ipynb"},"single":false}'
    )
    assert PARTS.key == digest_bytes(PARTS.canonical())


def test_key_ignores_mapping_order() -> None:
    reordered = parts(params={"name": "x", "sample_frac": 0.5},
                      products={"data": "clean.txt", "nb": "clean.ipynb"})
    assert reordered.key == PARTS.key


@pytest.mark.parametrize("change", [
    {"code": "xxh3-128:" + "e" * 32},
    {"params": {"sample_frac": 0.25, "name": "x"}},
    {"params": {"sample_frac": 0.5}},
    {"products": {"nb": "clean.ipynb", "data": "other.txt"}},
    {"single": True},
    {"kernel": "ir"},
    {"inputs": {"get-data/data": "xxh3-128:" + "f" * 32}},
    {"inputs": {}},
    {"packages": {}},
])
def test_every_part_changes_the_key(change: dict[str, Any]) -> None:
    assert parts(**change).key != PARTS.key


@pytest.mark.parametrize("a, b", [
    (1, 1.0), (1, True), (0, False), ([1, 2], (1, 2)), ({"1": 2}, {1: 2}),
    ({"$tuple": [1]}, (1,)), ("1", 1), (None, "None"), (b"ab", "ab"), ({1, 2}, [1, 2]),
])
def test_distinct_literals_never_share_a_key(a: Any, b: Any) -> None:
    assert parts(params={"p": a}).key != parts(params={"p": b}).key


def test_sets_and_odd_dicts_are_canonical() -> None:
    assert parts(params={"p": {3, 1, 2}}).key == parts(params={"p": {2, 3, 1}}).key
    assert parts(params={"p": {2: "b", 1: "a"}}).key == parts(params={"p": {1: "a", 2: "b"}}).key


def test_miss_reason_names_what_changed() -> None:
    doc = PARTS.document()
    assert miss_reason(doc, None) == "first build"
    assert miss_reason(doc, doc) == "not in cache"
    assert miss_reason(parts(code="xxh3-128:" + "0" * 32).document(), doc) == "code changed"
    changed = parts(params={"sample_frac": 0.1, "name": "x", "extra": 1}).document()
    assert miss_reason(changed, doc) == "params changed: extra, sample_frac"
    upstream = parts(inputs={"get-data/data": "xxh3-128:" + "1" * 32}).document()
    assert miss_reason(upstream, doc) == "input changed: get-data/data"
    both = parts(kernel="k", inputs={}).document()
    assert miss_reason(both, doc) == "kernel changed; input changed: get-data/data"


def test_store_location_env_beats_config_beats_default(tmp_path: Path) -> None:
    assert store_root(None, tmp_path, {}) == tmp_path / ".nbrules/cache"
    assert store_root("shared", tmp_path, {}) == tmp_path / "shared"
    env = {"NBRULES_CACHE": "/scratch/cache"}
    assert store_root("shared", tmp_path, env) == Path("/scratch/cache")


# ---------------------------------------------------------------- publish / restore


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store.open(tmp_path / "store")


def files(folder: Path, **contents: bytes) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, data in contents.items():
        paths[name] = folder / f"{name}.bin"
        paths[name].write_bytes(data)
    return paths


def publish(store: Store, key: str, folder: Path, **contents: bytes) -> Manifest:
    paths = files(folder, **contents)
    return store.publish(key, "task", {n: (p, p.name) for n, p in paths.items()})


KEY = digest_bytes(b"key one")
OTHER = digest_bytes(b"key two")


def test_publish_then_restore_is_byte_identical(store: Store, tmp_path: Path) -> None:
    notebook = tmp_path / "out" / "run.ipynb"
    paths = files(tmp_path / "out", data=b"rows\n" * 1000, nb=b'{"cells": []}')
    notebook.write_bytes(b"executed")
    manifest = store.publish(KEY, "clean", {n: (p, f"sub/{p.name}") for n, p in paths.items()},
                             (notebook, notebook.name), seconds=1.5)
    assert store.lookup(KEY) == manifest
    targets = {"data": tmp_path / "new" / "deep" / "data.bin", "nb": tmp_path / "new" / "nb"}
    store.restore(manifest, targets, tmp_path / "logs" / "run.ipynb")
    assert targets["data"].read_bytes() == b"rows\n" * 1000
    assert targets["nb"].read_bytes() == b'{"cells": []}'
    assert (tmp_path / "logs" / "run.ipynb").read_bytes() == b"executed"
    assert manifest.products["data"].path == "sub/data.bin"
    assert not list((tmp_path / "new").rglob("*tmp*")) and not list(store.tmp.iterdir())


def test_objects_are_read_only_and_stored_once(store: Store, tmp_path: Path) -> None:
    publish(store, KEY, tmp_path / "a", one=b"same", two=b"same", three=b"other")
    publish(store, OTHER, tmp_path / "b", four=b"same")
    found = list(cache_admin.objects(store))
    assert len(found) == 2
    assert all(stat.S_IMODE(path.stat().st_mode) == 0o444 for _, path in found)


def test_restored_copy_is_independent_and_writable(store: Store, tmp_path: Path) -> None:
    manifest = publish(store, KEY, tmp_path / "a", data=b"value")
    target = tmp_path / "restored"
    store.restore(manifest, {"data": target})
    obj = store.object_path(manifest.products["data"].object)
    assert target.stat().st_ino != obj.stat().st_ino
    assert target.stat().st_mode & stat.S_IWUSR
    target.write_bytes(b"edited in place")
    assert obj.read_bytes() == b"value"


@pytest.mark.parametrize("link", ["hardlink", "symlink"])
def test_links_only_on_opt_in(store: Store, tmp_path: Path, link: str) -> None:
    manifest = publish(store, KEY, tmp_path / "a", data=b"value")
    target = tmp_path / "restored"
    store.restore(manifest, {"data": target}, link=link, verify=True)
    obj = store.object_path(manifest.products["data"].object)
    assert target.read_bytes() == b"value"
    assert target.is_symlink() if link == "symlink" else target.stat().st_ino == obj.stat().st_ino


def test_republishing_a_key_is_idempotent(store: Store, tmp_path: Path) -> None:
    first = publish(store, KEY, tmp_path / "a", data=b"value")
    again = publish(store, KEY, tmp_path / "b", data=b"value")
    assert first.products == again.products
    assert len(list(cache_admin.objects(store))) == 1


def test_missing_object_is_a_damaged_entry(store: Store, tmp_path: Path) -> None:
    manifest = publish(store, KEY, tmp_path / "a", data=b"value")
    store.object_path(manifest.products["data"].object).unlink()
    with pytest.raises(DamagedEntry, match="missing"):
        store.restore(manifest, {"data": tmp_path / "t"})


def test_truncated_object_is_detected_without_verify(store: Store, tmp_path: Path) -> None:
    manifest = publish(store, KEY, tmp_path / "a", data=b"value")
    obj = store.object_path(manifest.products["data"].object)
    obj.chmod(0o644)
    obj.write_bytes(b"val")
    with pytest.raises(DamagedEntry, match="wrong size") as caught:
        store.restore(manifest, {"data": tmp_path / "t"})
    assert caught.value.bad_object == obj


def test_corrupt_object_of_the_right_size_is_never_restored(store: Store,
                                                             tmp_path: Path) -> None:
    manifest = publish(store, KEY, tmp_path / "a", data=b"value", other=b"fine")
    obj = store.object_path(manifest.products["data"].object)
    obj.chmod(0o644)
    obj.write_bytes(b"VALUE")
    target = tmp_path / "t"
    target.write_bytes(b"previous")
    targets = {"data": target, "other": tmp_path / "o"}
    with pytest.raises(DamagedEntry, match="corrupt") as caught:
        store.restore(manifest, targets)  # verification is always on
    assert caught.value.bad_object == obj
    assert target.read_bytes() == b"previous"  # nothing replaced, nothing left behind
    assert not (tmp_path / "o").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "store", "t"]


def test_garbled_manifest_is_a_damaged_entry_not_a_miss(store: Store, tmp_path: Path) -> None:
    publish(store, KEY, tmp_path / "a", data=b"value")
    path = store.manifest_path(KEY)
    path.chmod(0o644)
    path.write_text("{torn")
    with pytest.raises(DamagedEntry, match="garbled"):
        store.lookup(KEY)
    store.drop(KEY)
    assert not path.exists() and store.lookup(KEY) is None


# ---------------------------------------------------------------- crashes


def _die_before_manifest(root: str, folder: str) -> None:
    store = Store(Path(root))

    def crash(manifest: Manifest) -> None:
        os.kill(os.getpid(), signal.SIGKILL)

    store_type: Any = Store
    store_type._write_manifest = lambda self, manifest: crash(manifest)
    publish(store, KEY, Path(folder), data=b"value", more=b"more")


def _die_mid_object(root: str, folder: str) -> None:
    def half_copy(src: Any, dst: Any) -> None:
        dst.write(src.read(3))
        dst.flush()
        os.kill(os.getpid(), signal.SIGKILL)

    setattr(cache, "copy_hashed", half_copy)  # noqa: B010 - patched in a forked child
    publish(Store(Path(root)), KEY, Path(folder), data=b"value")


@pytest.mark.parametrize("victim", [_die_before_manifest, _die_mid_object])
def test_kill_during_publish_leaves_no_visible_entry(store: Store, tmp_path: Path,
                                                      victim: Any) -> None:
    process = multiprocessing.get_context("fork").Process(
        target=victim, args=(str(store.root), str(tmp_path / "a")))
    process.start()
    process.join()
    assert process.exitcode == -signal.SIGKILL
    assert store.lookup(KEY) is None
    assert cache_admin.verify(store).ok  # no torn object under objects/
    cache_admin.gc(store, grace=0.0)
    assert not list(cache_admin.objects(store)) and not list(store.tmp.iterdir())
    assert publish(store, KEY, tmp_path / "b", data=b"value") == store.lookup(KEY)


# ---------------------------------------------------------------- concurrency


def _publish_same(args: tuple[str, str, int]) -> str:
    root, folder, index = args
    manifest = publish(Store.open(Path(root)), KEY, Path(folder) / str(index),
                       data=b"shared bytes" * 10000, nb=b"notebook")
    return manifest.products["data"].object


def test_concurrent_publishers_of_one_key_agree(store: Store, tmp_path: Path) -> None:
    args = [(str(store.root), str(tmp_path / "work"), i) for i in range(16)]
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        digests = pool.map(_publish_same, args)
    assert len(set(digests)) == 1
    manifest = store.lookup(KEY)
    assert manifest is not None
    assert len(list(cache_admin.objects(store))) == 2
    assert not list(store.tmp.iterdir())
    store.restore(manifest, {"data": tmp_path / "d", "nb": tmp_path / "n"}, verify=True)


def test_events_of_concurrent_jobs_do_not_interleave(store: Store) -> None:
    with multiprocessing.get_context("fork").Pool(4) as pool:
        pool.starmap(store.record_event,
                     [("b1", {"task": f"t{i}", "result": "hit", "pad": "x" * 500})
                      for i in range(200)])
    events = list(cache_admin.build_events(store, "b1"))
    assert sorted(str(e["task"]) for e in events) == sorted(f"t{i}" for i in range(200))


# ---------------------------------------------------------------- stats, verify, gc


def test_stats_reports_the_last_build(store: Store, tmp_path: Path) -> None:
    publish(store, KEY, tmp_path / "a", data=b"12345")
    store.record_event("old", {"task": "a", "result": "miss"})
    time.sleep(0.02)
    for task, result in [("a", "hit"), ("b", "hit"), ("c", "hit"), ("d", "miss")]:
        store.record_event("new build", {"task": task, "result": result})
    found = cache_admin.stats(store)
    assert (found.entries, found.objects, found.bytes) == (1, 1, 5)
    assert found.build == "new_build" and (found.hits, found.misses) == (3, 1)
    assert found.hit_ratio == 0.75 and found.executed == ("d",)
    assert cache_admin.stats(store, "old").misses == 1


def test_verify_drops_bad_objects_and_their_entries(store: Store, tmp_path: Path) -> None:
    good = publish(store, KEY, tmp_path / "a", data=b"good")
    bad = publish(store, OTHER, tmp_path / "b", data=b"bad!", shared=b"good")
    obj = store.object_path(bad.products["data"].object)
    obj.chmod(0o644)
    obj.write_bytes(b"BAD!")
    broken = store.root / "manifests" / ("0" * 32 + ".json")
    broken.write_text("not json")
    report = cache_admin.verify(store)
    assert not report.ok and report.checked == 2
    assert (report.dropped_objects, report.dropped_entries) == (1, 2)
    assert any(short(bad.products["data"].object) in p for p in report.problems)
    assert store.lookup(KEY) == good and store.lookup(OTHER) is None
    assert cache_admin.verify(store).ok


def aged(store: Store, key: str, days: float) -> None:
    stamp = time.time() - days * 86400
    os.utime(store.manifest_path(key), (stamp, stamp))


def test_gc_older_than_keeps_shared_objects(store: Store, tmp_path: Path) -> None:
    publish(store, KEY, tmp_path / "a", data=b"shared", own=b"old only")
    publish(store, OTHER, tmp_path / "b", data=b"shared")
    aged(store, KEY, 10)
    dry = cache_admin.gc(store, older_than_days=7, dry_run=True)
    assert (dry.entries, dry.objects, dry.bytes) == (1, 1, len(b"old only"))
    assert store.lookup(KEY) is not None
    report = cache_admin.gc(store, older_than_days=7)
    assert (report.entries, report.objects) == (1, 1)
    kept = store.lookup(OTHER)
    assert store.lookup(KEY) is None and kept is not None
    store.restore(kept, {"data": tmp_path / "t"})
    assert (tmp_path / "t").read_bytes() == b"shared"


def test_gc_max_size_evicts_least_recently_used_first(store: Store, tmp_path: Path) -> None:
    keys = [digest_bytes(str(i).encode()) for i in range(4)]
    for age, key in enumerate(keys):
        publish(store, key, tmp_path / str(age), data=bytes([age]) * 100)
        aged(store, key, 4 - age)  # keys[0] is the oldest
    store.touch(keys[0])  # a hit makes it the most recent
    report = cache_admin.gc(store, max_size=250)
    assert report.entries == 2 and report.kept_bytes == 200
    assert [store.lookup(k) is not None for k in keys] == [True, False, False, True]


def test_gc_spares_young_orphans_and_sweeps_old_temp_files(store: Store) -> None:
    orphan = store.object_path(digest_bytes(b"orphan"))
    orphan.parent.mkdir(parents=True)
    orphan.write_bytes(b"orphan")
    temp = store.tmp / "123-leftover"
    temp.write_bytes(b"partial")
    torn = store.root / "last" / ".abc.json.x1y2.nbrules-tmp"
    torn.write_bytes(b"{")
    assert cache_admin.gc(store).objects == 0 and orphan.exists() and temp.exists()
    assert cache_admin.gc(store, grace=0.0).objects == 1
    assert not orphan.exists() and not temp.exists() and not torn.exists()


@pytest.mark.parametrize("text, size", [
    ("123", 123), ("1k", 1024), ("500M", 500 << 20), ("2G", 2 << 30), ("1.5GiB", 3 << 29),
    ("10 gb", 10 << 30), ("1T", 1 << 40),
])
def test_parse_size(text: str, size: int) -> None:
    assert cache_admin.parse_size(text) == size


def test_parse_size_rejects_nonsense() -> None:
    with pytest.raises(CacheError, match="cannot read size"):
        cache_admin.parse_size("lots")


def test_manifest_json_round_trips(store: Store, tmp_path: Path) -> None:
    manifest = publish(store, KEY, tmp_path / "a", data=b"x")
    text = store.manifest_path(KEY).read_text()
    assert Manifest.from_json(text) == manifest
    assert json.loads(text)["format"] == FORMAT


# ---------------------------------------------------------------- a kill during a restore


def _die_mid_restore(root: str, folder: str) -> None:
    os.environ["NBRULES_FAULT"] = "restore:task"
    store = Store(Path(root))
    manifest = store.lookup(KEY)
    assert manifest is not None
    store.restore(manifest, {"data": Path(folder) / "data.bin", "nb": Path(folder) / "nb.bin"})


def test_kill_during_restore_leaves_only_temps_that_the_next_writer_and_gc_remove(
    store: Store, tmp_path: Path
) -> None:
    publish(store, KEY, tmp_path / "a", data=b"value", nb=b"notebook")
    results = tmp_path / "results"
    results.mkdir()
    process = multiprocessing.get_context("fork").Process(
        target=_die_mid_restore, args=(str(store.root), str(results)))
    process.start()
    process.join()
    assert process.exitcode == -signal.SIGKILL
    left = sorted(p.name for p in results.iterdir())
    assert len(left) == 2 and all(is_temp(name) for name in left)  # no half-written target
    assert remove_temps_of(results / "data.bin") and len(list(results.iterdir())) == 1

    store.remember_root(results)
    assert cache_admin.gc(store).temps == 0  # younger than the grace period: spared
    hour_ago = time.time() - 2 * 3600
    for path in results.iterdir():
        os.utime(path, (hour_ago, hour_ago))
    assert cache_admin.gc(store).temps == 1
    assert not list(results.iterdir())


def test_a_store_without_its_newer_folders_still_opens_read_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "old-store"
    (root / "objects").mkdir(parents=True)
    (root / "manifests").mkdir()
    real_mkdir = Path.mkdir

    def read_only(self: Path, *args: Any, **kwargs: Any) -> None:
        if self.exists():
            return real_mkdir(self, *args, **kwargs)
        raise OSError(30, "Read-only file system", str(self))

    monkeypatch.setattr(Path, "mkdir", read_only)
    store = Store.open(root)
    assert store.lookup(KEY) is None and not (root / "leases").exists()
    with pytest.raises(OSError):
        Store.open(tmp_path / "missing")

"""What always-on verification costs: restoring a 1 GiB product vs ``cp``.

One product of ``size`` random bytes is published into a fresh store; then each
method materialises it at a new path, cold (the object evicted from the page
cache first, as in ``hash_bench.py``) and warm:

- **cp**: GNU ``cp`` of the object, what a user would type (no fsync);
- **cp + fsync**: the same, then ``fsync`` of the copy — nbrules fsyncs every restore;
- **copy loop, no hashing**: nbrules' own 1 MiB ``readinto``/``write`` loop and fsync,
  without the digest: what a restore cost before verification was always on;
- **restore, copy mode**: ``Store.restore`` (hash while copying; the default);
- **xxh3-128 of the object alone**: what the verification would cost on its own, were
  it not done during the copy;
- **restore, hardlink, first time**: the object is hashed (no copy is made);
- **restore, hardlink, known object**: this host hashed this very object before
  (same inode, size, mtime), so it is trusted without reading.

Run: ``python bench/restore_bench.py [--size-mib N] [--repeat N]``; a Markdown table
on stdout, progress on stderr. Every figure is the best of ``repeat`` runs, taken in
turns: on a machine shared with other work, noise only ever adds time.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from benchlib import progress, ratio, table
from hash_bench import GIB, _write, evict

from nbrules.cache.digests import digest_bytes, digest_file
from nbrules.cache.statcache import StatCache
from nbrules.cache.store import Manifest, Store

Method = Callable[[Path, Path], object]
_CHUNK = 1 << 20


def _cp(obj: Path, target: Path) -> None:
    subprocess.run(["cp", str(obj), str(target)], check=True)


def _cp_fsync(obj: Path, target: Path) -> None:
    _cp(obj, target)
    fd = os.open(target, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _loop(obj: Path, target: Path) -> None:
    buffer = bytearray(_CHUNK)
    view = memoryview(buffer)
    with open(obj, "rb", buffering=0) as src, open(target, "wb") as out:
        while count := src.readinto(buffer):
            out.write(view[:count])
        out.flush()
        os.fsync(out.fileno())


def methods(store: Store, manifest: Manifest, folder: Path) -> dict[str, Method]:
    def restore(link: str, trust: StatCache | None) -> Method:
        return lambda obj, target: store.restore(
            manifest, {"data": target}, link=link, trust=trust
        )

    def first_hardlink(obj: Path, target: Path) -> None:
        with StatCache(None) as nothing_known:
            store.restore(manifest, {"data": target}, link="hardlink", trust=nothing_known)

    known = StatCache(folder / "stat.sqlite")
    store.restore(manifest, {"data": folder / "warm-up"}, link="hardlink", trust=known)
    return {
        "cp (coreutils)": _cp,
        "cp + fsync": _cp_fsync,
        "copy loop, no hashing (before: size check only)": _loop,
        "**restore, copy mode: hashed while copied (default)**": restore("copy", None),
        "xxh3-128 of the object alone (no copy)": lambda obj, target: digest_file(obj),
        "restore, hardlink, object hashed (first time on this host)": first_hardlink,
        "restore, hardlink, known object (hashed before on this host)": restore(
            "hardlink", known
        ),
    }


def _time(method: Method, obj: Path, target: Path) -> float:
    start = time.perf_counter()
    method(obj, target)
    elapsed = time.perf_counter() - start
    target.unlink(missing_ok=True)
    os.sync()
    return elapsed


def measure(size: int, repeat: int) -> str:
    folder = Path(tempfile.mkdtemp(prefix="nbrules-restore-bench-"))
    try:
        source = folder / "product.bin"
        progress(f"writing {size >> 20} MiB")
        _write(source, size)
        store = Store.open(folder / "store")
        manifest = store.publish(digest_bytes(b"bench"), "bench", {"data": (source, "p.bin")})
        source.unlink()
        obj = store.object_path(manifest.products["data"].object)
        old = time.time() - 3600  # older than the stat cache's racy window
        os.utime(obj, (old, old))
        return _table(methods(store, manifest, folder), obj, folder, size, repeat)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _table(found: dict[str, Method], obj: Path, folder: Path, size: int, repeat: int) -> str:
    cold: dict[str, list[float]] = {name: [] for name in found}
    warm: dict[str, list[float]] = {name: [] for name in found}
    for run in range(repeat):
        for name, method in found.items():
            progress(f"run {run + 1}/{repeat}: {name}")
            evict(obj)
            cold[name].append(_time(method, obj, folder / "target"))
            warm[name].append(_time(method, obj, folder / "target"))
    gib = size / GIB
    base_cold, base_warm = min(cold["cp (coreutils)"]), min(warm["cp (coreutils)"])
    rows = [
        [name, f"{min(cold[name]):.2f}", f"{gib / min(cold[name]):.2f}",
         ratio(min(cold[name]), base_cold), f"{min(warm[name]):.3f}",
         f"{gib / min(warm[name]):.2f}", ratio(min(warm[name]), base_warm)]
        for name in found
    ]  # fmt: skip
    headers = ["method", "cold s", "cold GiB/s", "÷ cp (cold)", "warm s", "warm GiB/s",
               "÷ cp (warm)"]  # fmt: skip
    return table(headers, rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    size = args.size_mib << 20
    print(f"Restore of one {size >> 20} MiB product, {args.repeat} runs per method:\n")
    print(measure(size, args.repeat))


if __name__ == "__main__":
    main()

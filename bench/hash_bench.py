"""Hashing cost: xxh3-128 against the I/O floor and the digests other tools use.

On one file of ``size`` bytes (random content, fsync-ed), each method streams the
file in 1 MiB ``readinto`` chunks, as :func:`nbrules.cache.digests.digest_file` does:

- **read only**: no digest — the I/O floor;
- **xxh3-128**: ``nbrules.cache.digests.digest_file`` itself;
- **sha256** (Snakemake's checksums of small files) and **md5** (DVC), with hashlib.

*Cold* evicts the file from the page cache before each run (fsync, then
``posix_fadvise(POSIX_FADV_DONTNEED)``; ``/proc/sys/vm/drop_caches`` only if pages
stay resident and it is writable), checked with ``fincore`` when installed.
*Warm* reads it from the page cache. Then the stat-cache path: what a job pays for
an unchanged input (``StatCache.digest``: one ``os.stat`` and one SQLite lookup).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from benchlib import TIMES, median, progress, ratio, table

GIB = 1 << 30
_CHUNK = 1 << 20


def _stream(path: Path, update: Callable[[memoryview], object] | None) -> None:
    buffer = bytearray(_CHUNK)
    view = memoryview(buffer)
    with open(path, "rb", buffering=0) as handle:
        with contextlib.suppress(AttributeError, OSError):
            os.posix_fadvise(handle.fileno(), 0, 0, os.POSIX_FADV_SEQUENTIAL)
        while count := handle.readinto(buffer):
            if update is not None:
                update(view[:count])


def _hashlib(name: str) -> Callable[[Path], object]:
    def digest(path: Path) -> str:
        hasher = hashlib.new(name)
        _stream(path, hasher.update)
        return hasher.hexdigest()

    return digest


def _methods() -> dict[str, Callable[[Path], object]]:
    from nbrules.cache.digests import digest_file

    return {
        "read only (I/O floor)": lambda path: _stream(path, None),
        "xxh3-128 (`nbrules.cache.digests.digest_file`)": digest_file,
        "sha256 (hashlib; Snakemake's checksums of files ≤ 1 MB)": _hashlib("sha256"),
        "md5 (hashlib; DVC)": _hashlib("md5"),
    }


def _write(path: Path, size: int) -> None:
    block = os.urandom(16 << 20)
    with open(path, "wb") as handle:
        for offset in range(0, size, len(block)):
            handle.write(block[: size - offset])
        handle.flush()
        os.fsync(handle.fileno())


def resident(path: Path) -> int | None:
    """Bytes of ``path`` in the page cache (``fincore``), or ``None`` if unknown."""
    if shutil.which("fincore") is None:
        return None
    done = subprocess.run(["fincore", "--bytes", "--noheadings", "--output", "RES", str(path)],
                          capture_output=True, text=True, check=False)
    try:
        return int(done.stdout.split()[0])
    except (IndexError, ValueError):
        return None


def evict(path: Path) -> str:
    """Drop ``path`` from the page cache; how it was done (for the report)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)
    left = resident(path)
    if left is not None and left > path.stat().st_size // 100:
        with contextlib.suppress(OSError):
            os.sync()
            Path("/proc/sys/vm/drop_caches").write_text("1\n")
            return "drop_caches"
    return "fadvise" if left is not None else "fadvise (unverified)"


def _time(method: Callable[[Path], object], path: Path) -> float:
    start = time.perf_counter()
    method(path)
    return time.perf_counter() - start


def throughput_table(path: Path, repeat: int) -> tuple[str, float, float, set[str], list[int]]:
    methods = _methods()
    cold: dict[str, list[float]] = {name: [] for name in methods}
    warm: dict[str, list[float]] = {name: [] for name in methods}
    how, left = set(), []
    names = list(methods)
    for run in range(repeat):
        for name in names[run % len(names):] + names[:run % len(names)]:  # rotate the order
            method = methods[name]
            how.add(evict(path))
            found = resident(path)
            if found is not None:
                left.append(found)
            cold[name].append(_time(method, path))
    _stream(path, None)
    for run in range(repeat):
        for name in names[run % len(names):] + names[:run % len(names)]:
            warm[name].append(_time(methods[name], path))
    size = path.stat().st_size / GIB
    floor_cold = min(cold["read only (I/O floor)"])
    floor_warm = median(warm["read only (I/O floor)"])
    rows = []
    for name in methods:
        best, w = min(cold[name]), median(warm[name])
        rows.append([name, f"{size / best:.2f}", f"{best:.2f}", f"{median(cold[name]):.2f}",
                     ratio(best, floor_cold), f"{size / w:.2f}", f"{w:.3f}",
                     ratio(w, floor_warm)])
    headers = ["method", "cold GiB/s (best)", "cold s (best)", "cold s (median)",
               "÷ read only (best)", "warm GiB/s", "warm s", "÷ read only"]
    xxh3 = "xxh3-128 (`nbrules.cache.digests.digest_file`)"
    return table(headers, rows), min(cold[xxh3]), median(warm[xxh3]), how, left


def _per_call(call: Callable[[], object], count: int, repeat: int) -> float:
    """Median seconds per call over ``repeat`` batches of ``count`` calls."""
    batches = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(count):
            call()
        batches.append((time.perf_counter() - start) / count)
    return median(batches)


def stat_table(folder: Path, big: Path, big_cold: float, big_warm: float, repeat: int) -> str:
    size = _label(big.stat().st_size)
    from nbrules.cache.digests import digest_file
    from nbrules.cache.statcache import RACY_NS, StatCache

    small = folder / "1MiB.bin"
    _write(small, 1 << 20)
    time.sleep(2 * RACY_NS / 1e9)  # older than the racy window: its digest is remembered
    database = folder / "stat" / "host.sqlite"
    with StatCache(database) as stats:
        for path in (small, big):
            stats.digest(path)
        hit_small = _per_call(lambda: stats.digest(small), 2000, repeat)
        hit_big = _per_call(lambda: stats.digest(big), 2000, repeat)
    open_close = _per_call(lambda: StatCache(database).close(), 50, repeat)
    rehash_small = _per_call(lambda: digest_file(small), 200, repeat)
    rows = [
        ["stat-cache hit, unchanged 1 MiB file (`StatCache.digest`: stat + SQLite)",
         f"{hit_small * 1e6:.1f} µs", f"1{TIMES}"],
        [f"stat-cache hit, unchanged {size} file", f"{hit_big * 1e6:.1f} µs",
         ratio(hit_big, hit_small)],
        ["re-hash 1 MiB (`digest_file`, warm page cache)", f"{rehash_small * 1e6:.0f} µs",
         ratio(rehash_small, hit_small)],
        [f"re-hash {size}, warm", f"{big_warm:.2f} s", ratio(big_warm, hit_small)],
        [f"re-hash {size}, cold (best run)", f"{big_cold:.2f} s", ratio(big_cold, hit_small)],
        ["open + close the stat cache (once per job)", f"{open_close * 1e3:.2f} ms",
         ratio(open_close, hit_small)],
    ]
    return table(["operation", "time", "÷ stat-cache hit"], rows)


def _label(size: int) -> str:
    return f"{size / GIB:g} GiB" if size >= GIB else f"{size >> 20} MiB"


@contextlib.contextmanager
def _scratch() -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="nbrules-hash-bench-"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)  # the big file too: disk is limited


def hashing_section(repeat: int, size: int = GIB) -> str:
    with _scratch() as folder:
        big = folder / "big.bin"
        progress(f"hashing: writing {_label(size)} to {big}")
        _write(big, size)
        progress("hashing: throughput, cold and warm")
        text, cold, warm, how, left = throughput_table(big, repeat)
        progress("hashing: stat cache")
        stats = stat_table(folder, big, cold, warm, repeat)
    eviction = ", ".join(sorted(how))
    still = f"; resident before cold runs: at most {max(left) / (1 << 20):.1f} MiB" if left else ""
    return (f"File: {_label(size)} of random bytes; {repeat} runs per method and state, in "
            f"rotating order. Cold = evicted from the page cache first ({eviction}{still}). "
            "Cold reads on this VM are bimodal (the same read takes either t or ≈2t, for "
            "every method, reading only included), so cold throughput and ratios use the "
            "best run; warm ones use the median. The VM's disk may still be cached by its "
            f"host.\n\n{text}\n\n"
            f"Stat cache (what a job pays per unchanged input):\n\n{stats}\n")

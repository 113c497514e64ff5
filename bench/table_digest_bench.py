"""Table digests against file hashing, on one ≈1 GiB table written six ways.

One table (flights-like columns: integers, floats and strings with nulls, timestamps,
booleans; ``--gib`` of Arrow memory, 1 by default) is written as Parquet (zstd level 3
as the example writes it, snappy, uncompressed) and as Arrow IPC / Feather
(uncompressed, lz4, zstd). Every file must give the same table digest. Per file, in
the same run:

- **file digest**: ``nbrules.cache.digests.digest_file`` (xxh3-128 of the bytes);
- **table digest**: ``nbrules.cache.tables.table_digest`` (decode, canonical hash);
- **memo hit**: what a job pays for a table input whose file was touched since it was
  last seen (``content_digest``: file digest, then one small memo file) — the route
  jobs take; decoding happens once per distinct file content.

Throughput is given in GiB of the *table* (Arrow memory, the same for every file) and
of the *file*. *Cold* evicts the file from the page cache first (see hash_bench.py);
*warm* reads it from memory. Then the reading strategies the digest could use per
format, both exact, warm: Parquet row group by row group (used) against one
``read_table`` of the whole file and ``iter_batches``; Arrow IPC memory-mapped (used)
against buffered reads.

    python bench/table_digest_bench.py [--gib 1] [--repeat 3]
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.feather as feather
import pyarrow.parquet as pq
from benchlib import median, progress, ratio, table
from hash_bench import evict

from nbrules.cache.digests import digest_file
from nbrules.cache.statcache import StatCache
from nbrules.cache.tables import TableMemo, content_digest, table_digest

GIB = 1 << 30
WRITERS: dict[str, tuple[str, Callable[[pa.Table, Path], None]]] = {
    "Parquet zstd-3 (the example's writer)": (
        "zstd.parquet",
        lambda t, p: pq.write_table(t, p, compression="zstd", compression_level=3),
    ),
    "Parquet snappy": ("snappy.parquet", lambda t, p: pq.write_table(t, p, compression="snappy")),
    "Parquet uncompressed": (
        "plain.parquet",
        lambda t, p: pq.write_table(t, p, compression="none"),
    ),
    "Feather uncompressed": (
        "plain.feather",
        lambda t, p: feather.write_feather(t, p, compression="uncompressed"),
    ),
    "Feather lz4": ("lz4.feather", lambda t, p: feather.write_feather(t, p, compression="lz4")),
    "Feather zstd": ("zstd.feather", lambda t, p: feather.write_feather(t, p, compression="zstd")),
}


def flights_like(rows: int, seed: int = 42) -> pa.Table:
    rng = np.random.default_rng(seed)
    carriers = pa.array([f"C{i:02d}" for i in range(16)])
    tails = pa.array([f"N{i:05d}" for i in range(4000)])
    delay = rng.normal(10, 40, rows).round()
    return pa.table(
        {
            "flight_id": pa.array(np.arange(rows, dtype=np.int64)),
            "dep_delay": pa.array(delay, mask=rng.random(rows) < 0.03),
            "arr_delay": pa.array((delay + rng.integers(-20, 20, rows)).astype(np.int64)),
            "carrier": carriers.take(pa.array(rng.integers(0, 16, rows))),
            "tailnum": tails.take(
                pa.array(rng.integers(0, 4000, rows), mask=rng.random(rows) < 0.01)
            ),
            "time_hour": pa.array(
                np.arange(rows, dtype=np.int64) * 60_000_000, pa.timestamp("us", tz="UTC")
            ),
            "distance": pa.array(rng.integers(80, 5000, rows, dtype=np.int32)),
            "cancelled": pa.array(rng.random(rows) < 0.02),
        }
    )


def sized_table(gib: float) -> pa.Table:
    probe = flights_like(100_000)
    return flights_like(int(gib * GIB / (probe.nbytes / probe.num_rows)))


def _time(call: Callable[[], object]) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def measure(path: Path, memo: TableMemo, repeat: int) -> dict[str, list[float]]:
    """Seconds per method and state (cold: evicted from the page cache first)."""
    methods: dict[str, Callable[[], object]] = {
        "file": lambda: digest_file(path),
        "table": lambda: table_digest(path),
        "memo": lambda: content_digest(StatCache(None), path, memo),
    }
    found: dict[str, list[float]] = {}
    for state in ("cold", "warm"):
        for name, call in methods.items():
            runs = found.setdefault(f"{name} {state}", [])
            for _ in range(repeat):
                if state == "cold":
                    evict(path)
                runs.append(_time(call))
    return found


def strategies(path: Path, repeat: int) -> dict[str, float]:
    """Warm seconds of the table digest's reading alternatives for this file's format."""
    if path.suffix == ".parquet":
        file = pq.ParquetFile(path, memory_map=True)
        ways: dict[str, Callable[[], object]] = {
            "row groups, one at a time (used)": lambda: [
                file.read_row_group(i) for i in range(file.num_row_groups)
            ],
            "read_table, whole file": lambda: pq.read_table(path),
            "iter_batches (64k rows)": lambda: list(file.iter_batches(batch_size=65_536)),
        }
    else:
        ways = {
            "memory-mapped (used)": lambda: pa.ipc.open_file(pa.memory_map(str(path))).read_all(),
            "buffered read": lambda: pa.ipc.open_file(pa.OSFile(str(path))).read_all(),
        }
    return {name: median([_time(way) for _ in range(repeat)]) for name, way in ways.items()}


def report(folder: Path, data: pa.Table, repeat: int) -> str:
    size = data.nbytes / GIB
    memo = TableMemo(folder / "memo")
    rows, reads, digests = [], [], set()
    for label, (name, write) in WRITERS.items():
        path = folder / name
        progress(f"writing {label}")
        write(data, path)
        digests.add(table_digest(path))
        progress(f"measuring {label}")
        t = measure(path, memo, repeat)
        best = {k: (min(v) if k.endswith("cold") else median(v)) for k, v in t.items()}
        file_gib = path.stat().st_size / GIB
        rows.append(
            [
                label,
                f"{file_gib:.2f}",
                f"{size / best['table cold']:.2f}",
                f"{size / best['table warm']:.2f}",
                f"{file_gib / best['file cold']:.2f}",
                f"{file_gib / best['file warm']:.2f}",
                ratio(best["table cold"], best["file cold"]),
                ratio(best["table warm"], best["file warm"]),
                f"{best['memo warm']:.3f}",
            ]
        )
        for way, seconds in strategies(path, repeat).items():
            reads.append([label, way, f"{seconds:.2f}", f"{size / seconds:.2f}"])
        path.unlink()  # disk is limited
    assert len(digests) == 1, f"the six files gave {len(digests)} table digests"
    headers = [
        "file",
        "file GiB",
        "table digest, cold: table GiB/s",
        "warm: table GiB/s",
        "file digest, cold: file GiB/s",
        "warm: file GiB/s",
        "table ÷ file digest, cold",
        "warm",
        "memo hit, warm (s)",
    ]
    return (
        f"Table: {data.num_rows:,} rows, {size:.2f} GiB in Arrow memory; one table digest for "
        f"all six files: {digests.pop()}.\n\n{table(headers, rows)}\n\n"
        "Reading alternatives of the table digest (warm, the read alone, median):\n\n"
        f"{table(['file', 'reading', 'seconds', 'table GiB/s'], reads)}\n"
    )


@contextlib.contextmanager
def scratch() -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="nbrules-table-bench-"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gib", type=float, default=1.0, help="table size in Arrow memory")
    parser.add_argument("--repeat", type=int, default=3, help="runs per method and state")
    args = parser.parse_args(argv)
    progress(f"building a {args.gib:g} GiB table")
    data = sized_table(args.gib)
    with scratch() as folder:
        print(report(folder, data, args.repeat))
    return 0


if __name__ == "__main__":
    sys.exit(main())

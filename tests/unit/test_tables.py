"""Table digests: the canonical content of Parquet and Arrow IPC files, not their bytes."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.feather as feather
import pyarrow.parquet as pq
import pytest

from nbrules.cache import tables
from nbrules.cache.digests import digest_file
from nbrules.cache.statcache import StatCache
from nbrules.cache.tables import (
    TableMemo,
    UnsupportedTable,
    canonical_type,
    content_digest,
    is_table_digest,
    table_digest,
)

Writer = Callable[[pa.Table, Path], None]


def rows(n: int = 3000) -> pa.Table:
    """Every kind of column the canonical form covers, with nulls in each."""
    return pa.table(
        {
            "id": pa.array(range(n), pa.int64()),
            "x": pa.array([None if i % 7 == 0 else i / 3 for i in range(n)], pa.float64()),
            "name": pa.array([None if i % 5 == 0 else f"n{i % 13}" for i in range(n)]),
            "flag": pa.array([None if i % 11 == 0 else i % 2 == 0 for i in range(n)]),
            "when": pa.array(
                [i * 1_000_000 for i in range(n)], pa.timestamp("us", tz="America/New_York")
            ),
            "tags": pa.array([None if i % 4 == 0 else ["a"] * (i % 3) for i in range(n)]),
            "point": pa.array([None if i % 6 == 0 else {"p": i, "q": str(i)} for i in range(n)]),
            "attrs": pa.array(
                [None if i % 9 == 0 else [("k", i)] for i in range(n)],
                pa.map_(pa.string(), pa.int64()),
            ),
            "cat": pa.array([f"c{i % 3}" for i in range(n)]).dictionary_encode(),
        }
    )


def parquet(**options: object) -> Writer:
    return lambda table, path: pq.write_table(table, path, **options)


def digest_of(table: pa.Table, tmp_path: Path, write: Writer, name: str = "t.parquet") -> str:
    path = tmp_path / name
    write(table, path)
    return table_digest(path)


SAME_ROWS: dict[str, tuple[Writer, str]] = {
    "parquet zstd": (parquet(compression="zstd"), "a.parquet"),
    "parquet snappy, row groups of 100": (
        parquet(compression="snappy", row_group_size=100),
        "b.parquet",
    ),
    "parquet uncompressed, no dictionary, no statistics, data page v2": (
        parquet(
            compression="none",
            use_dictionary=False,
            write_statistics=False,
            data_page_version="2.0",
        ),
        "c.parquet",
    ),
    "feather lz4, batches of 77": (
        lambda t, p: feather.write_feather(t, p, compression="lz4", chunksize=77),
        "d.feather",
    ),
    "feather uncompressed": (
        lambda t, p: feather.write_feather(t, p, compression="uncompressed"),
        "e.arrow",
    ),
    "arrow IPC stream": (lambda t, p: _ipc_stream(t, p), "f.arrows"),
}


def _ipc_stream(table: pa.Table, path: Path) -> None:
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table, max_chunksize=500)


def test_the_same_rows_give_one_digest_whatever_the_writer(tmp_path: Path) -> None:
    table = rows()
    found = {label: digest_of(table, tmp_path, w, n) for label, (w, n) in SAME_ROWS.items()}
    sizes = {os.path.getsize(tmp_path / name) for _, name in SAME_ROWS.values()}
    assert len(sizes) == len(SAME_ROWS), "the files differ byte-wise"
    assert len(set(found.values())) == 1, found
    assert is_table_digest(next(iter(found.values())))


def test_writer_metadata_and_physical_type_variants_do_not_count(tmp_path: Path) -> None:
    table = rows()
    plain = digest_of(table, tmp_path, parquet())
    meta = table.replace_schema_metadata({"pandas": '{"creator": {"version": "0.0"}}'})
    large = table.cast(
        pa.schema(
            [
                pa.field(f.name, pa.large_string())
                if f.type == pa.string()
                else pa.field(f.name, pa.large_list(pa.string()))
                if f.name == "tags"
                else f
                for f in table.schema
            ]
        )
    )
    sliced = pa.concat_tables([table.slice(0, 1234), table.slice(1234)])
    assert digest_of(meta, tmp_path, parquet(), "m.parquet") == plain
    assert digest_of(large, tmp_path, parquet(), "l.parquet") == plain
    assert digest_of(sliced, tmp_path, parquet(row_group_size=1000), "s.parquet") == plain


def _changed(table: pa.Table, column: str, values: pa.Array) -> pa.Table:
    return table.set_column(table.schema.get_field_index(column), column, values)


def test_different_content_gives_another_digest(tmp_path: Path) -> None:
    table = pa.table({"a": pa.array([1, 2, 3], pa.int64()), "s": ["ab", "c", None]})
    variants = {
        "original": table,
        "a value": _changed(table, "a", pa.array([1, 2, 4], pa.int64())),
        "a type": _changed(table, "a", pa.array([1, 2, 3], pa.int32())),
        "a null instead of a value": _changed(table, "a", pa.array([1, None, 3], pa.int64())),
        "a value instead of a null": _changed(table, "s", pa.array(["ab", "c", ""])),
        "string boundaries": _changed(table, "s", pa.array(["a", "bc", None])),
        "column order": table.select(["s", "a"]),
        "column name": table.rename_columns(["b", "s"]),
        "one row fewer": table.slice(0, 2),
        "row order": table.take([1, 0, 2]),
    }
    found = {
        label: digest_of(t, tmp_path, parquet(), f"{i}.parquet")
        for i, (label, t) in enumerate(variants.items())
    }
    assert len(set(found.values())) == len(variants), found


def test_nested_boundaries_and_null_positions_count(tmp_path: Path) -> None:
    lists = [[[1, 2], [3]], [[1], [2, 3]], [[1, 2], None, [3]], [[1, 2], [], [3]]]
    found = {
        digest_of(pa.table({"l": pa.array(v)}), tmp_path, parquet(), f"{i}.parquet")
        for i, v in enumerate(lists)
    }
    assert len(found) == len(lists)


def test_canonical_types_merge_physical_variants_only() -> None:
    assert canonical_type(pa.large_string()) == canonical_type(pa.string()) == "string"
    assert canonical_type(pa.dictionary(pa.int8(), pa.string())) == "string"
    assert canonical_type(pa.large_list(pa.int64())) == canonical_type(pa.list_(pa.int64()))
    assert canonical_type(pa.int32()) != canonical_type(pa.int64())
    assert canonical_type(pa.timestamp("us")) != canonical_type(pa.timestamp("ns"))


def test_a_file_that_is_not_a_table_has_no_table_digest(tmp_path: Path) -> None:
    bad = tmp_path / "broken.parquet"
    bad.write_bytes(b"PAR1 not really")
    with pytest.raises(UnsupportedTable):
        table_digest(bad)
    with StatCache(None) as stats:
        assert content_digest(stats, bad) == digest_file(bad)


def test_other_files_keep_their_file_digest(tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    path.write_text("a,b\n1,2\n")
    with StatCache(None) as stats:
        assert content_digest(stats, path) == digest_file(path)


def test_the_memo_decodes_each_file_content_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "t.parquet"
    pq.write_table(rows(), path)
    monkeypatch.setattr(tables, "RACY_NS", 0)  # written just now, yet settled
    memo = TableMemo(tmp_path / "memo")
    with StatCache(None) as stats:
        first = content_digest(stats, path, memo)
        assert memo.get(digest_file(path)) == first

        def fail(_: Path) -> str:
            raise AssertionError("decoded again")

        monkeypatch.setattr(tables, "table_digest", fail)
        path.touch()  # a new stat signature, the same bytes: still no decoding
        assert content_digest(stats, path, memo) == first


def test_a_table_changed_while_it_is_decoded_is_not_memoized(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "t.parquet"
    pq.write_table(rows(), path)
    monkeypatch.setattr(tables, "RACY_NS", 0)
    real = tables.table_digest

    def rewrite_while_reading(p: Path) -> str:
        digest = real(p)
        pq.write_table(rows(10), p)
        return digest

    monkeypatch.setattr(tables, "table_digest", rewrite_while_reading)
    memo = TableMemo(tmp_path / "memo")
    with StatCache(None) as stats:
        content_digest(stats, path, memo)
    assert not any((tmp_path / "memo").rglob("*"))

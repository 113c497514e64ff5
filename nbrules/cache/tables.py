"""Table digests: what a Parquet or Arrow IPC (Feather) file *holds*, not its bytes.

A table rewritten with another compression, row-group size, writer metadata or
pyarrow version has other bytes but the same rows; its *table digest* stays the
same, so the notebooks downstream of it restore instead of executing (early cutoff
that does not depend on byte-deterministic writers). The stored object is still the
exact file: a restore is byte-identical. Only the digest that feeds downstream keys
changes kind, and it says so: ``table-v1:xxh3-128:<hex>`` beside the file digests'
``xxh3-128:<hex>``, so the two can never be mistaken for one another.

The canonical form (version ``table-v1``), read with pyarrow, no pandas:

- the schema: column names in order and their *logical* types — physical variants
  of one logical type are one type (``string``/``large_string``/``string_view`` →
  ``string``; the same for binary and lists; list item names and nullability flags
  and every metadata key are left out); a dictionary column is its value type;
- the row count;
- per column (nested columns per child, by path), separate streams, each hashed:
  the row numbers of the nulls (``uint64``), then the non-null values — fixed-width
  values as their little-endian bytes, booleans one byte each, strings and binaries
  as their lengths (``int64``) plus their bytes, lists as lengths plus the flattened
  items. Nothing depends on how the rows are split into row groups or batches.

Values are compared bit for bit (``-0.0`` is not ``0.0``; NaN payloads count). A
file that cannot be read as a table, or holds a type outside this form (unions,
extension types), has no table digest: its file digest is used instead, which is
never wrong, only stricter.

:class:`TableMemo` remembers table digests by *file* digest in the store
(``<store>/tables/ab/<hex>``): the mapping is a pure function of the bytes, so it
is shared by every host and survives a ``touch``; an unchanged table is decoded
once, ever (see :func:`content_digest`).
"""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import TYPE_CHECKING, Any

import xxhash

from ..common.files import atomic_write_text
from ..common.text import canonical_json
from .digests import ALGORITHM, hex_part
from .statcache import RACY_NS, StatCache, stat_signature
from .tablefiles import table_parts

if TYPE_CHECKING:
    import pyarrow as pa

TABLE_FORMAT = "table-v1"
TABLE_TAG = f"{TABLE_FORMAT}:"
#: File name endings read as tables (lower case).
TABLE_SUFFIXES = (".parquet", ".pq", ".feather", ".arrow", ".ipc", ".arrows")


class UnsupportedTable(Exception):
    """The file is not a table this canonical form covers."""


def is_table_path(path: PurePath | str) -> bool:
    return str(path).lower().endswith(TABLE_SUFFIXES)


def is_table_digest(digest: str) -> bool:
    return digest.startswith(TABLE_TAG)


# ---------------------------------------------------------------- canonical types


def canonical_type(t: pa.DataType) -> str:
    """The logical type of ``t`` as text (physical variants of one type are equal)."""
    import pyarrow as pa

    types = pa.types
    if types.is_dictionary(t):
        return canonical_type(t.value_type)
    if types.is_string(t) or types.is_large_string(t) or types.is_string_view(t):
        return "string"
    if types.is_binary(t) or types.is_large_binary(t) or types.is_binary_view(t):
        return "binary"
    if types.is_fixed_size_list(t):
        return f"fixed_size_list<{canonical_type(t.value_type)}, {t.list_size}>"
    if _is_list(t):
        return f"list<{canonical_type(t.value_type)}>"
    if types.is_map(t):
        return f"map<{canonical_type(t.key_type)}, {canonical_type(t.item_type)}>"
    if types.is_struct(t):
        fields = (t.field(i) for i in range(t.num_fields))
        return (
            "struct<"
            + ", ".join(f"{canonical_json(f.name)}: {canonical_type(f.type)}" for f in fields)
            + ">"
        )
    if types.is_union(t) or isinstance(t, pa.ExtensionType):
        raise UnsupportedTable(f"type {t} has no canonical form")
    return str(t)


def _is_list(t: pa.DataType) -> bool:
    import pyarrow as pa

    types = pa.types
    return bool(
        types.is_list(t)
        or types.is_large_list(t)
        or types.is_list_view(t)
        or types.is_large_list_view(t)
    )


# ---------------------------------------------------------------- the hasher


class _Streams:
    """One xxh3-128 per (column path, part), and the rows seen per path."""

    def __init__(self) -> None:
        self.hashers: dict[str, Any] = {}
        self.rows: dict[str, int] = {}

    def update(self, path: str, part: str, data: Any) -> None:
        view = memoryview(data).cast("B")
        if len(view):
            key = f"{path}\0{part}"
            if key not in self.hashers:
                self.hashers[key] = xxhash.xxh3_128()
            self.hashers[key].update(view)

    def digests(self) -> dict[str, str]:
        return {key: h.hexdigest() for key, h in sorted(self.hashers.items())}

    def feed(self, path: str, array: pa.Array) -> None:
        """Hash one chunk of the column at ``path`` (chunk boundaries do not matter)."""
        import pyarrow as pa
        import pyarrow.compute as pc

        if pa.types.is_dictionary(array.type):
            array = array.dictionary_decode()
        start = self.rows.get(path, 0)
        self.rows[path] = start + len(array)
        if array.null_count:
            nulls = pc.add(pc.indices_nonzero(pc.is_null(array)), pa.scalar(start, pa.uint64()))
            self.update(path, "nulls", _fixed_bytes(nulls))
            array = pc.drop_null(array)
        if len(array):
            self._values(path, array)

    def _values(self, path: str, array: pa.Array) -> None:
        import pyarrow as pa
        import pyarrow.compute as pc

        t = array.type
        types = pa.types
        if types.is_null(t):
            return
        if types.is_boolean(t):
            self.update(path, "values", _fixed_bytes(pc.cast(array, pa.uint8())))
        elif types.is_string_view(t) or types.is_binary_view(t):
            self._values(path, pc.cast(array, _large_of(t)))
        elif _is_binary_like(t):
            lengths = pc.cast(pc.binary_length(array), pa.int64())
            self.update(path, "lengths", _fixed_bytes(lengths))
            self.update(path, "bytes", _binary_bytes(array))
        elif types.is_map(t):
            self._values(path, array.cast(_list_of_entries(t)))
        elif types.is_fixed_size_list(t):
            self.feed(f"{path}/[]", array.flatten())
        elif _is_list(t):
            lengths = pc.cast(pc.list_value_length(array), pa.int64())
            self.update(path, "lengths", _fixed_bytes(lengths))
            self.feed(f"{path}/[]", array.flatten())
        elif types.is_struct(t):
            for i, child in enumerate(array.flatten()):
                self.feed(f"{path}/{i}", child)
        else:
            self.update(path, "values", _fixed_bytes(array))


def _is_binary_like(t: pa.DataType) -> bool:
    import pyarrow as pa

    types = pa.types
    return bool(
        types.is_string(t)
        or types.is_large_string(t)
        or types.is_binary(t)
        or types.is_large_binary(t)
    )


def _large_of(t: pa.DataType) -> pa.DataType:
    import pyarrow as pa

    return pa.large_string() if pa.types.is_string_view(t) else pa.large_binary()


def _list_of_entries(t: pa.MapType) -> pa.DataType:
    import pyarrow as pa

    return pa.list_(pa.struct([("key", t.key_type), ("value", t.item_type)]))


def _fixed_bytes(array: pa.Array) -> memoryview:
    """The value bytes of a null-free fixed-width array, honouring its offset."""
    try:
        width = array.type.bit_width // 8
    except ValueError:
        raise UnsupportedTable(f"type {array.type} has no canonical form") from None
    buffer = array.buffers()[1]
    start = array.offset * width
    return memoryview(buffer)[start : start + len(array) * width]


def _binary_bytes(array: pa.Array) -> memoryview:
    """The concatenated value bytes of a null-free string/binary array."""
    import pyarrow as pa

    offset_type = (
        pa.int64()
        if pa.types.is_large_string(array.type) or pa.types.is_large_binary(array.type)
        else pa.int32()
    )
    _, offsets, data = array.buffers()
    bounds = pa.Array.from_buffers(
        offset_type, len(array) + 1, [None, offsets], offset=array.offset
    )
    first, last = bounds[0].as_py(), bounds[-1].as_py()
    if data is None:
        return memoryview(b"")
    return memoryview(data)[first:last]


def table_digest(path: Path) -> str:
    """The ``table-v1`` digest of a Parquet or Arrow IPC file (see the module docstring).

    Raises :class:`UnsupportedTable` when the file is not such a table.
    """
    import pyarrow as pa

    try:
        schema, batches = table_parts(path)
        names = [canonical_type(field.type) for field in schema]
        streams = _Streams()
        rows = 0
        for batch in batches:
            rows += batch.num_rows
            for i, column in enumerate(batch.columns):
                chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
                for chunk in chunks:
                    streams.feed(str(i), chunk)
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise UnsupportedTable(f"{path} is not a readable table: {exc}") from exc
    document = {
        "format": TABLE_FORMAT,
        "schema": [[field.name, name] for field, name in zip(schema, names, strict=True)],
        "rows": rows,
        "streams": streams.digests(),
    }
    hexdigest = xxhash.xxh3_128_hexdigest(canonical_json(document).encode("ascii"))
    return f"{TABLE_TAG}{ALGORITHM}:{hexdigest}"


# ---------------------------------------------------------------- the memo


@dataclass(frozen=True, slots=True)
class TableMemo:
    """File digest → table digest, as small files ``<root>/ab/<hex>`` (immutable)."""

    root: Path

    @classmethod
    def in_store(cls, store_root: Path) -> TableMemo:
        return cls(store_root / "tables")

    def _path(self, file_digest: str) -> Path:
        name = hex_part(file_digest)
        return self.root / name[:2] / name

    def get(self, file_digest: str) -> str | None:
        try:
            text = self._path(file_digest).read_text(encoding="ascii").strip()
        except (OSError, ValueError):
            return None
        return text if is_table_digest(text) else None

    def put(self, file_digest: str, table: str) -> None:
        with contextlib.suppress(OSError):
            atomic_write_text(self._path(file_digest), table + "\n", durable=False)


def content_digest(stats: StatCache, path: Path, memo: TableMemo | None = None) -> str:
    """The digest of a key input: its table digest for a table, else its file digest.

    The file digest comes from the stat cache (or one read); a table's digest from
    ``memo`` by that file digest, else by decoding the file once. A file changed
    while it was decoded is not memoized (its digest is returned, remembered nowhere).
    """
    before = os.stat(path)
    file_digest = stats.digest(path)
    if not is_table_path(path):
        return file_digest
    known = memo.get(file_digest) if memo is not None else None
    if known is not None:
        return known
    try:
        table = table_digest(path)
    except UnsupportedTable:
        return file_digest
    after = os.stat(path)
    settled = time.time_ns() - max(before.st_mtime_ns, before.st_ctime_ns) > RACY_NS
    if memo is not None and settled and stat_signature(after) == stat_signature(before):
        memo.put(file_digest, table)
    return table


def object_table_digest(object_path: Path, file_digest: str, memo: TableMemo) -> str | None:
    """The table digest of a store object known to hold ``file_digest`` (memoized)."""
    known = memo.get(file_digest)
    if known is not None:
        return known
    try:
        table = table_digest(object_path)
    except UnsupportedTable:
        return None
    memo.put(file_digest, table)
    return table

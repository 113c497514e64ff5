"""Reading Parquet and Arrow IPC (Feather) files with pyarrow: schema, parts, columns.

The format is told by the file's first bytes (``PAR1``: Parquet; ``ARROW1``: an
Arrow IPC file, Feather version 2; ``FEA1``: Feather version 1; else an Arrow IPC
stream), never by its name. pyarrow is imported on first use only.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pyarrow as pa


def table_parts(path: Path) -> tuple[pa.Schema, Iterator[pa.RecordBatch | pa.Table]]:
    """The schema and the row batches of a Parquet or Arrow IPC file."""
    import pyarrow as pa

    magic = _magic(path)
    if magic[:4] == b"PAR1":
        import pyarrow.parquet as pq

        parquet = pq.ParquetFile(path, memory_map=True)
        groups = (parquet.read_row_group(i) for i in range(parquet.num_row_groups))
        return parquet.schema_arrow, groups
    if magic[:4] == b"FEA1":  # Feather version 1
        import pyarrow.feather as feather

        table = feather.read_table(path)
        return table.schema, iter([table])
    source = pa.memory_map(str(path))
    if magic == b"ARROW1":
        reader = pa.ipc.open_file(source)
        return reader.schema, (reader.get_batch(i) for i in range(reader.num_record_batches))
    stream = pa.ipc.open_stream(source)
    return stream.schema, iter(stream)


def read_columns(path: Path, columns: list[str]) -> pa.Table:
    """The named columns of a Parquet or Arrow IPC file (only those are decoded)."""
    import pyarrow as pa

    if _magic(path)[:4] == b"PAR1":
        import pyarrow.parquet as pq

        return pq.read_table(path, columns=columns)
    schema, parts = table_parts(path)
    tables = [p if isinstance(p, pa.Table) else pa.Table.from_batches([p], schema) for p in parts]
    return (pa.concat_tables(tables) if tables else schema.empty_table()).select(columns)


def read_schema(path: Path) -> tuple[pa.Schema, int]:
    """The schema and row count of a Parquet or Arrow IPC file, without decoding values."""
    if _magic(path)[:4] == b"PAR1":
        import pyarrow.parquet as pq

        parquet = pq.ParquetFile(path)
        return parquet.schema_arrow, parquet.metadata.num_rows
    schema, parts = table_parts(path)
    return schema, sum(part.num_rows for part in parts)


def _magic(path: Path) -> bytes:
    with open(path, "rb") as handle:
        return handle.read(6)

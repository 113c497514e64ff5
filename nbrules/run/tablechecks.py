"""The declarative table checks, read with pyarrow (no pandas): rows, columns, nulls, keys.

Each returns ``None`` when the table passes, else a :class:`Failure` (message and
hint). Only the columns a check names are decoded; ``rows`` and ``columns`` read
the file's metadata alone.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..cache.tablefiles import read_columns, read_schema
from ..cache.tables import canonical_type
from ..common.text import did_you_mean

if TYPE_CHECKING:
    import pyarrow as pa


@dataclass(frozen=True, slots=True)
class Failure:
    message: str
    hint: str


def check_table(path: Path, kind: str, settings: Any) -> Failure | None:
    """Run the table check ``kind`` with its ``settings`` on the table at ``path``."""
    checks: dict[str, Callable[[Path, Any], Failure | None]] = {
        "rows": _rows,
        "columns": _columns,
        "not_null": _not_null,
        "unique": _unique,
    }
    return checks[kind](path, settings)


def _count(n: int) -> str:
    return f"{n:,} row" + ("" if n == 1 else "s")


def _rows(path: Path, bounds: Sequence[int | None]) -> Failure | None:
    low, high = bounds
    _, rows = read_schema(path)
    if low is not None and rows < low:
        return Failure(
            f"{_count(rows)}, expected at least {low:,}",
            "an upstream filter or join may have dropped rows; or lower the bound",
        )
    if high is not None and rows > high:
        return Failure(
            f"{_count(rows)}, expected at most {high:,}",
            "a join may have duplicated rows; or raise the bound",
        )
    return None


def _missing(schema: pa.Schema, names: Sequence[str]) -> Failure | None:
    have = schema.names
    for name in names:
        if name not in have:
            return Failure(f"no column '{name}'", did_you_mean(name, have, "columns"))
    return None


def _columns(path: Path, wanted: Mapping[str, str]) -> Failure | None:
    schema, _ = read_schema(path)
    missing = _missing(schema, list(wanted))
    if missing is not None:
        return missing
    for name, expected in wanted.items():
        actual = schema.field(name).type
        if not _same_type(actual, expected):
            return Failure(
                f"column '{name}' is {actual}, expected {expected}",
                f"cast it before writing, or expect '{canonical_type(actual)}'",
            )
    return None


def _same_type(actual: pa.DataType, expected: str) -> bool:
    """``expected`` names ``actual``: as written, as a pyarrow alias, or its logical type."""
    import pyarrow as pa

    names = {str(actual), canonical_type(actual)}
    if expected in names:
        return True
    try:
        return canonical_type(pa.type_for_alias(expected)) == canonical_type(actual)
    except ValueError:
        return False


def _not_null(path: Path, names: Sequence[str]) -> Failure | None:
    import pyarrow.compute as pc

    schema, _ = read_schema(path)
    missing = _missing(schema, names)
    if missing is not None:
        return missing
    table = read_columns(path, list(names))
    for name in names:
        column = table[name]
        if column.null_count:
            first = pc.index(pc.is_null(column), True).as_py()
            return Failure(
                f"column '{name}' has {column.null_count:,} null"
                + ("" if column.null_count == 1 else "s")
                + f" (the first in row {first:,})",
                f"drop or fill the nulls of '{name}' before writing, or allow them",
            )
    return None


def _unique(path: Path, keys: Sequence[str]) -> Failure | None:
    import pyarrow.compute as pc

    schema, _ = read_schema(path)
    missing = _missing(schema, keys)
    if missing is not None:
        return missing
    table = read_columns(path, list(keys))
    counts = table.group_by(list(keys)).aggregate([([], "count_all")])
    repeated = counts.filter(pc.greater(counts["count_all"], 1))
    if not repeated.num_rows:
        return None
    example = repeated.slice(0, 1).to_pylist()[0]
    value = ", ".join(f"{k}={example[k]!r}" for k in keys)
    label = f"({', '.join(keys)})" if len(keys) > 1 else f"'{keys[0]}'"
    plural = "value repeats" if repeated.num_rows == 1 else "values repeat"
    return Failure(
        f"{repeated.num_rows:,} {plural} in key {label}, e.g. {value} "
        f"({_count(example['count_all'])})",
        "deduplicate before writing, or check the join that produced it",
    )

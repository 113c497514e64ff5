"""The model table: clean flights joined with weather and planes.

Only what is known at scheduled departure goes in: calendar, route, carrier,
plane facts and the weather observed at the origin in the scheduled hour.
Delays, actual times and air time are outcomes, so they never become features.
"""

from __future__ import annotations

import pandas as pd

from flights.cleaning import utc_hour
from flights.data import FLIGHT_ID

TARGET = "delayed"
DELAY_THRESHOLD_MIN = 15
REFERENCE_YEAR = 2013

CATEGORICAL = ("carrier", "origin", "dest")
CALENDAR = ("month", "weekday", "dep_hour", "dep_minute_of_day")
ROUTE = ("distance",)
PLANE = ("plane_age", "seats", "engines")
WEATHER = (
    "temp",
    "dewp",
    "humid",
    "wind_dir",
    "wind_speed",
    "wind_gust",
    "precip",
    "pressure",
    "visib",
)
NUMERIC = CALENDAR + ROUTE + PLANE + WEATHER
FEATURES = CATEGORICAL + NUMERIC
OUTCOMES = ("arr_delay", "dep_delay", "dep", "air_time", "arr_time", "dep_time")
WEATHER_KEY = ("origin", "time_hour")


def prepare_weather(weather: pd.DataFrame) -> pd.DataFrame:
    """One row per origin and UTC hour with the weather measurements."""
    table = weather.assign(time_hour=utc_hour(weather["time_hour"]))
    return table[[*WEATHER_KEY, *WEATHER]]


def prepare_planes(planes: pd.DataFrame, reference_year: int = REFERENCE_YEAR) -> pd.DataFrame:
    """One row per tail number with the plane's age in ``reference_year``, seats and engines."""
    return pd.DataFrame(
        {
            "tailnum": planes["tailnum"],
            "plane_age": reference_year - planes["year"],
            "seats": planes["seats"],
            "engines": planes["engines"],
        }
    )


def join_weather(flights: pd.DataFrame, weather: pd.DataFrame) -> pd.DataFrame:
    """Left join on origin and scheduled UTC hour; hours without a report stay missing."""
    return flights.merge(
        prepare_weather(weather), how="left", on=list(WEATHER_KEY), validate="many_to_one"
    )


def join_planes(flights: pd.DataFrame, planes: pd.DataFrame) -> pd.DataFrame:
    """Left join on tail number; planes missing from the registry stay missing."""
    return flights.merge(prepare_planes(planes), how="left", on="tailnum", validate="many_to_one")


def calendar_features(sched_dep: pd.Series) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "month": sched_dep.dt.month.astype("int64"),
            "weekday": sched_dep.dt.day_of_week.astype("int64"),
            "dep_hour": sched_dep.dt.hour.astype("int64"),
            "dep_minute_of_day": (sched_dep.dt.hour * 60 + sched_dep.dt.minute).astype("int64"),
        },
        index=sched_dep.index,
    )


def delay_target(arr_delay: pd.Series, threshold: int = DELAY_THRESHOLD_MIN) -> pd.Series:
    """1 when the flight arrived more than ``threshold`` minutes late, else 0."""
    return (arr_delay > threshold).astype("int64").rename(TARGET)


def build_features(
    clean: pd.DataFrame, weather: pd.DataFrame, planes: pd.DataFrame
) -> pd.DataFrame:
    """``flight_id``, every column of :data:`FEATURES` and the target, one row per clean flight."""
    joined = join_planes(join_weather(clean, weather), planes)
    parts = [
        joined[[FLIGHT_ID, *CATEGORICAL, *ROUTE, *PLANE, *WEATHER]],
        calendar_features(joined["sched_dep"]),
        delay_target(joined["arr_delay"]),
    ]
    return pd.concat(parts, axis=1)[[FLIGHT_ID, *FEATURES, TARGET]]

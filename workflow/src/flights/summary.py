"""Small descriptive tables for the report."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from flights.features import DELAY_THRESHOLD_MIN


def delays_by_carrier(clean: pd.DataFrame, airlines: pd.DataFrame) -> pd.DataFrame:
    """Per airline: flights, share arriving > 15 min late and mean arrival delay, worst first."""
    late = clean["arr_delay"] > DELAY_THRESHOLD_MIN
    grouped = clean.assign(late=late).groupby("carrier", sort=True)
    table = pd.DataFrame(
        {
            "flights": grouped.size(),
            "delayed_share": grouped["late"].mean().round(4),
            "mean_arr_delay_min": grouped["arr_delay"].mean().round(1),
        }
    ).reset_index()
    named = table.merge(airlines, how="left", on="carrier", validate="one_to_one")
    ordered = named.sort_values(["delayed_share", "carrier"], ascending=[False, True])
    return ordered[
        ["carrier", "name", "flights", "delayed_share", "mean_arr_delay_min"]
    ].reset_index(drop=True)


def metrics_table(metrics: Mapping[str, float | int | None]) -> pd.DataFrame:
    """One row per metric, in name order, for display."""
    return pd.DataFrame({"metric": list(metrics), "value": list(metrics.values())}).sort_values(
        "metric", ignore_index=True
    )

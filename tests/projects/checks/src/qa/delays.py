"""Checks called with a product's path."""

import pyarrow.compute as pc
import pyarrow.parquet as pq

LOWEST = -120.0


def plausible(path):
    """Delays below two hours early mean a broken clock."""
    delay = pq.read_table(path, columns=["delay"])["delay"]
    lowest = pc.min(delay).as_py()
    assert lowest >= LOWEST, f"a delay of {lowest} minutes is below {LOWEST}"

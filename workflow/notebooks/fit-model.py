# %% [markdown]
# # Fit the model
#
# A stratified train/test split, then a histogram gradient-boosting classifier
# (categorical carrier/origin/destination, missing values handled natively).
# Every random choice is fixed by `seed`, so the pickled model is reproducible.

# %%
from dataclasses import asdict

from flights.io import read_parquet, write_parquet, write_pickle
from flights.model import ModelParams, fit, split, training_summary

# %% tags=["parameters"]
upstream = ["features"]
product = {
    "nb": "fit-model.ipynb",
    "model": "model/model.pkl",
    "test": "model/test.parquet",
}
test_size = 0.25
seed = 42
max_iter = 200
learning_rate = 0.1
max_leaf_nodes = 31
resources = {"threads": 2, "mem_mb": 4000, "runtime": 30}
checks = {"test": {"rows": [100, None], "unique": ["flight_id"], "not_null": ["delayed"]}}

# %%
features = read_parquet(upstream["features"]["data"])
train, test = split(features, test_size=test_size, seed=seed)
params = ModelParams(
    max_iter=max_iter,
    learning_rate=learning_rate,
    max_leaf_nodes=max_leaf_nodes,
    seed=seed,
)
asdict(params)

# %%
model = fit(train, params)
write_pickle(model, product["model"])
write_parquet(test, product["test"])
training_summary(model, train, test)

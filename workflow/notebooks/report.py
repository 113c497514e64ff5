# %% [markdown]
# # Delays of flights from New York City, 2013
#
# A one-page summary: which airlines arrive late most often, and how well the
# model, trained only on what is known before departure (schedule, route, plane,
# weather), predicts an arrival more than 15 minutes late.

# %%
from flights.io import read_json, read_parquet
from flights.plots import delay_rate_figure, png_bytes
from flights.summary import delays_by_carrier, metrics_table
from IPython.display import Image

# %% tags=["parameters"]
upstream = ["evaluate", "clean", "get-data"]
product = {"nb": "report.html"}

# %% [markdown]
# ## Airlines

# %%
carriers = delays_by_carrier(
    read_parquet(upstream["clean"]["data"]),
    read_parquet(upstream["get-data"]["airlines"]),
)
carriers.set_index("carrier")

# %%
shares = carriers.set_index("name")["delayed_share"]
Image(png_bytes(delay_rate_figure(shares, "share delayed > 15 min", "Late arrivals by airline")))

# %% [markdown]
# ## Model

# %%
metrics_table(read_json(upstream["evaluate"]["metrics"]))

# %%
Image(filename=upstream["evaluate"]["roc"])

# %%
Image(filename=upstream["evaluate"]["by_hour"])

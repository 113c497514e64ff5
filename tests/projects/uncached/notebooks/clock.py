# %% [markdown]
# Reads the clock, which no digest covers: `cache = False`. Its product only says
# whether the clock is sane, so it comes out byte-identical on every run.

# %% tags=["parameters"]
upstream = None
product = {"nb": "clock.ipynb", "data": "clock.txt"}
cache = False

# %%
import datetime

sane = datetime.date.today().year >= 2020
with open(product["data"], "w") as handle:
    handle.write(f"clock sane: {sane}\n")

# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.16.0
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Get numbers

# %% tags=["parameters"]
upstream = None
product = None
count = 10
sample = None
tag = None

# %%
import json
import os

# %%
# the tests count kernel runs by the lines of this file (outside every product)
with open("kernel-runs.txt", "a") as runs:
    runs.write("get\n")

# %%
values = list(range(count))
with open(product["data"], "w") as handle:
    handle.write("\n".join(map(str, values)) + "\n")

# %%
info = {
    "count": count,
    "sample": sample,
    "tag": tag,
    "types": [type(count).__name__, type(sample).__name__, type(tag).__name__],
    "cwd": os.getcwd(),
    "env": os.environ.get("NBRULES_FIXTURE_MARK", ""),
    "product": product,
}
with open(product["info"], "w") as handle:
    json.dump(info, handle, indent=1, sort_keys=True)

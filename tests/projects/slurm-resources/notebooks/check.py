# %% tags=["parameters"]
upstream = ["threads"]
product = "check.ipynb"
fail = False

# %%
import json

seen = json.load(open(upstream["threads"]["data"]))

# %%
if fail:
    raise ValueError("check failed on purpose")
print(seen)

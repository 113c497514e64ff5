# %% tags=["parameters"]
upstream = None
product = None
size = 1

# %%
import json

with open("kernel-runs.txt", "a") as runs:
    runs.write("make\n")

with open(product["data"], "w") as handle:
    json.dump(list(range(1, size + 1)), handle)

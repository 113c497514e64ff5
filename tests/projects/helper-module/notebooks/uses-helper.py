# %% tags=["parameters"]
upstream = None
product = {"nb": "uses-helper.ipynb", "data": "doubled.txt"}

# %%
from helpers import double

# %%
with open(product["data"], "w") as handle:
    handle.write(" ".join(map(str, double([1, 2, 3]))) + "\n")

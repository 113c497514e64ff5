# %% tags=["parameters"]
upstream = None
product = {"nb": "letters.ipynb", "data": "letters.txt"}
word = "cache"

# %%
from textutil import shout

# %%
with open(product["data"], "w") as handle:
    handle.write(shout(word) + "\n")

# %% [markdown]
# # Numbers
# The first `count` integers, one per line.

# %% tags=["parameters"]
upstream = None
product = {"nb": "numbers.ipynb", "data": "numbers.txt"}
count = 3

# %%
values = list(range(count))

# %%
with open(product["data"], "w") as handle:
    handle.write("\n".join(str(v) for v in values) + "\n")

# %% [markdown]
# A notebook whose last cell raises. Its first line, `values`, also opens an
# earlier cell: the error must still name the right line.

# %% tags=["parameters"]
upstream = None
product = {"nb": "fails.ipynb", "data": "partial.txt"}

# %%
with open(product["data"], "w") as handle:
    handle.write("written before the failure\n")

# %%
values = [1, 2, 3]
values

# %%
values
total = sum(values) / 0

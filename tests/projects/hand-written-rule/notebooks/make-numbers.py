# %% [markdown]
# # Make numbers

# %% tags=["parameters"]
upstream = None
product = {"nb": "make-numbers.ipynb", "data": "numbers.txt"}
count = 5

# %%
values = list(range(count))
values

# %%
with open(product["data"], "w") as handle:
    handle.write("\n".join(map(str, values)) + "\n")

# %% tags=["parameters"]
upstream = None
product = None
count = 3

# %%
with open(product["data"], "w") as handle:
    handle.write("\n".join(str(n) for n in range(count)) + "\n")

# %% tags=["parameters"]
upstream = ["make-numbers"]
product = {"nb": "square.ipynb", "data": "squares.txt"}

# %%
with open(upstream["make-numbers"]["data"]) as handle:
    numbers = [int(line) for line in handle]

# %%
with open(product["data"], "w") as handle:
    handle.write("\n".join(str(n * n) for n in numbers) + "\n")

# %% tags=["parameters"]
upstream = ["make-numbers"]
product = {"nb": "square.ipynb", "data": "squares.txt"}

# %%
from mathutil import square

with open(upstream["make-numbers"]["data"]) as handle:
    numbers = [int(line) for line in handle]

# %%
with open(product["data"], "w") as handle:
    handle.write("\n".join(str(square(n)) for n in numbers) + "\n")

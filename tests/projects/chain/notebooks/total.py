# %% tags=["parameters"]
upstream = ["make-numbers", "square"]
product = "total.ipynb"

# %%
numbers = open(upstream["make-numbers"]["data"]).read().split()
squares = open(upstream["square"]["data"]).read().split()
print(len(numbers), sum(map(int, squares)))

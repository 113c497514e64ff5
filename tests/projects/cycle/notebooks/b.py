# %% tags=["parameters"]
upstream = ["a"]
product = "b.ipynb"

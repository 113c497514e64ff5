# %% tags=["parameters"]
upstream = ["b"]
product = "a.ipynb"

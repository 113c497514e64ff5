# %% tags=["parameters"]
upstream = None
product = "a-b.ipynb"

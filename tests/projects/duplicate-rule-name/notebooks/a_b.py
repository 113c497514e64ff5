# %% tags=["parameters"]
upstream = None
product = "a_b.ipynb"

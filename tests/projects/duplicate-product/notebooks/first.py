# %% tags=["parameters"]
upstream = None
product = {"nb": "first.ipynb", "data": "data/out.txt"}

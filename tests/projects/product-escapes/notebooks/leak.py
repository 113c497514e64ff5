# %% tags=["parameters"]
upstream = None
product = {"nb": "leak.ipynb", "data": "data/../../outside.txt"}

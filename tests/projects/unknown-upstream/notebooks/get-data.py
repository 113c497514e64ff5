# %% tags=["parameters"]
upstream = None
product = {"nb": "get-data.ipynb", "data": "raw.txt"}

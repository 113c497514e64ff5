# %% tags=["parameters"]
upstream = None
product = {
    "nb": "second.ipynb",
    "data": "data/./out.txt",
}

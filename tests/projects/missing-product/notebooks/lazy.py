# %% tags=["parameters"]
upstream = None
product = {"nb": "lazy.ipynb", "data": "never.txt"}

# %%
planned = product["data"]

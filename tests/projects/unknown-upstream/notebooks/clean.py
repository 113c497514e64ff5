# %% [markdown]
# Cleans the raw data.

# %% tags=["parameters"]
upstream = ["get_data"]
product = {"nb": "clean.ipynb", "data": "clean.txt"}

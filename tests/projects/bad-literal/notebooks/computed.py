# %% tags=["parameters"]
name = "computed"
upstream = None
product = {"nb": f"{name}.ipynb"}

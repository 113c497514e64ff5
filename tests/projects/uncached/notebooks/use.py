# %% tags=["parameters"]
upstream = ["clock"]
product = {"nb": "use.ipynb", "data": "use.txt"}

# %%
with open(upstream["clock"]["data"]) as handle:
    line = handle.read()
with open(product["data"], "w") as handle:
    handle.write(line.upper())

# %% tags=["parameters"]
upstream = None
product = None

# %%
from pathlib import Path

with open("kernel-runs.txt", "a") as runs:
    runs.write("get\n")
Path(product["data"]).write_text("3\n1\n2\n")

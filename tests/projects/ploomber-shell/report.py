# %% tags=["parameters"]
upstream = ["sort"]
product = None

# %%
from pathlib import Path

with open("kernel-runs.txt", "a") as runs:
    runs.write("report\n")
print(Path(upstream["sort"]["data"]).read_text().split())

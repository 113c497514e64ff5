# %% tags=["parameters"]
upstream = ["get"]
product = None

# %%
from pathlib import Path

with open("kernel-runs.txt", "a") as runs:
    runs.write("double\n")
numbers = [int(x) for x in Path(upstream["get"]["data"]).read_text().split()]
Path(product["data"]).write_text("".join(f"{n * 2}\n" for n in numbers))

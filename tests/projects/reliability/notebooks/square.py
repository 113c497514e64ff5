# %% tags=["parameters"]
upstream = ["make-data"]
product = {"nb": "square.ipynb", "data": "squares.txt"}

# %%
from pathlib import Path

from fixture_pause import pause

pause("square")

# %%
numbers = [int(x) for x in Path(upstream["make-data"]["data"]).read_text().split()[1:]]
Path(product["data"]).write_text("\n".join(str(v * v) for v in numbers) + "\n")

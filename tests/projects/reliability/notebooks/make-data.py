# %% tags=["parameters"]
upstream = None
product = {"nb": "make-data.ipynb", "data": "data.txt", "parts": "parts/"}
n = 4
label = "numbers"

# %%
from pathlib import Path

from fixture_pause import pause

pause("make-data")

# %%
values = list(range(n))
Path(product["data"]).write_text(f"{label}\n" + "\n".join(str(v) for v in values) + "\n")
parts = Path(product["parts"])
(parts / "odd").mkdir(parents=True)
for v in values:
    (parts / ("odd" if v % 2 else ".") / f"part-{v}.txt").write_text(f"{v}\n")

# %% [markdown]
# Writes a folder product: one text file per shard, a nested folder and an empty one.

# %% tags=["parameters"]
upstream = None
product = {"nb": "shards.ipynb", "shards": "shards/"}
n_shards = 2

# %%
import json
from pathlib import Path

with open("kernel-runs.txt", "a") as runs:
    runs.write("make-shards\n")

# %%
folder = Path(product["shards"])
(folder / "meta").mkdir(parents=True)
(folder / "empty").mkdir()
for index in range(n_shards):
    (folder / f"part-{index}.txt").write_text(f"{index * 10}\n")
(folder / "meta" / "info.json").write_text(json.dumps({"shards": n_shards}))

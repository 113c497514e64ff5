# %% tags=["parameters"]
upstream = ["load"]
product = None

# %%
import json
from pathlib import Path

with open("kernel-runs.txt", "a") as runs:
    runs.write("summarize\n")

# %%
raw = Path(upstream["load"]["raw"])
counts = {p.name: len(p.read_text().splitlines()) for p in sorted(raw.glob("*.csv"))}
Path(product["summary"]).write_text(json.dumps(counts, sort_keys=True))
counts

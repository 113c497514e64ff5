# %% tags=["parameters"]
upstream = ["make-data", "square"]
product = {"nb": "report.ipynb", "summary": "summary.json"}

# %%
import json
from pathlib import Path

from fixture_pause import pause

pause("report")

# %%
parts = sorted(p.name for p in Path(upstream["make-data"]["parts"]).rglob("*.txt"))
squares = Path(upstream["square"]["data"]).read_text().split()
summary = {"parts": parts, "sum_of_squares": sum(int(s) for s in squares)}
Path(product["summary"]).write_text(json.dumps(summary, sort_keys=True))
summary

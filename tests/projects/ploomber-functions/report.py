# %% tags=["parameters"]
upstream = ["clean"]
product = None

# %%
import json
from pathlib import Path

from helpers import log_run

log_run("report")
summary = json.loads(Path(upstream["clean"]["summary"]).read_text())
print("total", summary["total"])

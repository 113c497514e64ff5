# %% tags=["parameters"]
upstream = ["summarize"]
product = {"nb": "report.ipynb", "text": "report.txt"}

# %%
import json

summary = json.load(open(upstream["summarize"]["summary"]))
with open(product["text"], "w") as handle:
    handle.write(f"{summary['rows']} rows in {summary['groups']} groups\n")

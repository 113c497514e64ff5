# %% [markdown]
# # Summarize the table

# %%
import json

import pyarrow.compute as pc
import pyarrow.parquet as pq

# %% tags=["parameters"]
upstream = ["make-table"]
product = {"nb": "summarize.ipynb", "summary": "summary.json"}

# %%
table = pq.read_table(upstream["make-table"]["data"])
summary = {
    "rows": table.num_rows,
    "groups": len(pc.unique(table["group"])),
    "total": pc.sum(table["value"]).as_py(),
}
with open(product["summary"], "w") as handle:
    json.dump(summary, handle, sort_keys=True)
summary

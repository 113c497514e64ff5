# %% tags=["parameters"]
upstream = ["flights"]
product = {"nb": "summary.ipynb", "text": "summary.txt"}

# %%
import pyarrow.parquet as pq

rows = pq.read_table(upstream["flights"]["data"]).num_rows
with open(product["text"], "w") as handle:
    handle.write(f"{rows} flights\n")

# %% [markdown]
# # Flights
#
# Writes a small flights table; `defect` plants one problem for a check to catch.

# %%
import pyarrow as pa
import pyarrow.parquet as pq

# %% tags=["parameters"]
upstream = None
product = {"nb": "flights.ipynb", "data": "flights.parquet"}
defect = "none"
checks = {
    "data": {
        "rows": [100, 10_000],
        "columns": {"flight": "int64", "carrier": "string", "delay": "double"},
        "not_null": ["carrier", "flight"],
        "unique": ["carrier", "flight"],
        "call": "qa.delays:plausible",
    },
}

# %%
n = 10 if defect == "rows" else 500
flight = list(range(n))
carrier = [("AA", "UA", "DL")[i % 3] for i in range(n)]
delay = [float(i % 60) for i in range(n)]
if defect == "nulls":
    carrier[7] = None
    carrier[9] = None
if defect == "duplicates":
    flight[4], carrier[4] = flight[1], carrier[1]
if defect == "implausible":
    delay[3] = -999.0
columns = {"flight": flight, "carrier": carrier, "delay": delay}
table = pa.table(columns)
if defect == "types":
    table = table.set_column(0, "flight", pa.array(flight, pa.int32()))
pq.write_table(table, product["data"])
table.num_rows

# %% [markdown]
# # Make a table
#
# The same rows whatever `compression` and `row_group_size` say: only the file's
# bytes change with them.

# %%
import pyarrow as pa
import pyarrow.parquet as pq

# %% tags=["parameters"]
upstream = None
product = {"nb": "make-table.ipynb", "data": "table.parquet"}
compression = "zstd"
row_group_size = 1000

# %%
n = 5000
table = pa.table(
    {
        "id": pa.array(range(n), pa.int64()),
        "group": pa.array([f"g{i % 7}" for i in range(n)]),
        "value": pa.array([None if i % 10 == 0 else i * 0.5 for i in range(n)]),
    }
)
pq.write_table(table, product["data"], compression=compression, row_group_size=row_group_size)
table.num_rows

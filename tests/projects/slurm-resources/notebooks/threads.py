# %% [markdown]
# # What the job got
# Records the thread limits and the SLURM job the kernel runs in.

# %% tags=["parameters"]
upstream = None
product = {"nb": "threads.ipynb", "data": "threads.json"}
resources = {"threads": 2, "mem_mb": 1100, "runtime": 7, "partition": "debug"}

# %%
import json
import os

names = ["OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
         "SLURM_JOB_ID", "SLURM_CPUS_PER_TASK"]
with open(product["data"], "w") as handle:
    json.dump({name: os.environ.get(name) for name in names}, handle)

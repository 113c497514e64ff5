# %% tags=["parameters"]
upstream = ["make"]
product = None
mode = "add"
factor = 1
offset = 0

# %%
import json

with open("kernel-runs.txt", "a") as runs:
    runs.write(f"fit {mode} {factor}\n")

with open(upstream["make"]["data"]) as handle:
    data = json.load(handle)

# %%
if mode == "add":
    values = [x + factor for x in data]
else:
    values = [x * factor for x in data]
model = {"mode": mode, "factor": factor, "score": sum(values) + offset}
with open(product["model"], "w") as handle:
    json.dump(model, handle, sort_keys=True)

# %% tags=["parameters"]
upstream = ["fit-*"]
product = None
label = None

# %%
import json

with open("kernel-runs.txt", "a") as runs:
    runs.write("compare\n")

# %%
# Ploomber's wildcard upstream: upstream["fit-*"] maps each matching task to its products
scores = {}
for task, products in sorted(upstream["fit-*"].items()):
    with open(products["model"]) as handle:
        scores[task] = json.load(handle)["score"]
best = max(scores, key=scores.get)
with open(product["best"], "w") as handle:
    json.dump({"label": label, "best": best, "scores": scores}, handle, sort_keys=True)

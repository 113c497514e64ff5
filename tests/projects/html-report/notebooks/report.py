# %% [markdown]
# # A report with a figure

# %% tags=["parameters"]
upstream = None
product = {"nb": "report.html", "data": "points.txt"}

# %%
import matplotlib.pyplot as plt

xs = [1, 2, 3, 4]
ys = [x * x for x in xs]
with open(product["data"], "w") as handle:
    handle.write(" ".join(map(str, ys)) + "\n")

# %%
fig, ax = plt.subplots(figsize=(3, 2))
ax.plot(xs, ys)

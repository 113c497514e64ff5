# %% tags=["parameters"]
upstream = ["get"]
product = None
power = 2

# %% tags=["injected-parameters"]
# Parameters injected on another machine (ploomber nb --inject): never used
upstream = {"get": {"nb": "/home/someone/else/output/get.ipynb", "data": "/nonexistent/numbers.txt"}}
product = {"nb": "/nonexistent/cube.ipynb", "data": "/nonexistent/cubes.txt"}
power = 99

# %%
with open("kernel-runs.txt", "a") as runs:
    runs.write("cube\n")

# %%
with open(upstream["get"]["data"]) as handle:
    numbers = [int(line) for line in handle]
with open(product["data"], "w") as handle:
    handle.write("\n".join(str(n ** power) for n in numbers) + "\n")

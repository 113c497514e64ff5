# %% tags=["parameters"]
upstream = None
product = None
alpha = 0.0
columns = []

# %%
with open("kernel-runs.txt", "a") as runs:
    runs.write(f"fit-{alpha}\n")

# %%
print(alpha, columns)

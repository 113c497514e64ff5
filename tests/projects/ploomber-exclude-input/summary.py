# %% tags=["parameters"]
upstream = None
product = None

# %%
with open("kernel-runs.txt", "a") as runs:
    runs.write("summary\n")

# %%
secret_sauce = sum(range(10))
print(f"RESULT {secret_sauce}")

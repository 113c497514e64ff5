# %% tags=["parameters"]
rows = 10

# %%
print(rows)

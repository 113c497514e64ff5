# %% tags=["parameters"]
upstream = ["square", "letters"]
product = "report.ipynb"

# %%
squares = open(upstream["square"]["data"]).read().split()
word = open(upstream["letters"]["data"]).read().strip()
print(word, sum(int(s) for s in squares))

# %% [markdown]
# # Report: a fan-in of three

# %% tags=["parameters"]
upstream = ["get", "squares", "cube"]
product = None

# %%
import base64

from IPython.display import Image, display

with open("kernel-runs.txt", "a") as runs:
    runs.write("report\n")


# %%
def read(path):
    with open(path) as handle:
        return [int(line) for line in handle]


numbers = read(upstream["get"]["data"])
squares = read(upstream["squares"]["data"])
cubes = read(upstream["cube"]["data"])
print(f"TOTALS numbers={sum(numbers)} squares={sum(squares)} cubes={sum(cubes)}")

# %%
# a 1x1 PNG: the HTML report must embed figures
PIXEL = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAE"
         "hQGAhKmMIQAAAABJRU5ErkJggg==")
display(Image(data=base64.b64decode(PIXEL)))

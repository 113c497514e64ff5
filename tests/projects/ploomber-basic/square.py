# + tags=["parameters"]
upstream = ["get"]
product = None
# -

with open("kernel-runs.txt", "a") as runs:
    runs.write("squares\n")

with open(upstream["get"]["data"]) as handle:
    numbers = [int(line) for line in handle]

with open(product["data"], "w") as handle:
    handle.write("\n".join(str(n * n) for n in numbers) + "\n")

"""Python-function tasks: @task declares them, read by nbrules without running this."""

import json
from pathlib import Path

from nbrules import task


def log_run(name: str) -> None:
    # outside every product, so a cache restore never replays it
    with Path("task-runs.txt").open("a") as runs:
        runs.write(name + "\n")


@task(product="raw.txt")
def get(product, count=4):
    log_run("get")
    Path(product).write_text("".join(f"{i}\n" for i in range(count)))


@task(upstream=["get"], product={"data": "clean.txt", "summary": "summary.json"})
def clean(product, upstream, factor=1):
    log_run("clean")
    numbers = [int(x) * factor for x in Path(upstream["get"]).read_text().split()]
    Path(product["data"]).write_text("".join(f"{n}\n" for n in numbers))
    Path(product["summary"]).write_text(json.dumps({"total": sum(numbers)}))

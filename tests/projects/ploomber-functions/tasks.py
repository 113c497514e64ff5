"""Task functions of the pipeline."""

import json
from pathlib import Path

from helpers import log_run


def get(product, count):
    log_run("get")
    Path(product).write_text("".join(f"{i}\n" for i in range(count)))


def clean(product, upstream):
    log_run("clean")
    numbers = [int(x) for x in Path(upstream["get"]).read_text().split()]
    Path(product["data"]).write_text("".join(f"{n * 10}\n" for n in numbers))
    Path(product["summary"]).write_text(json.dumps({"total": sum(numbers) * 10}))

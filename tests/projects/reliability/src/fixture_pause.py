"""Test hook: pause a notebook so a test can kill its job (or Snakemake) mid-execution."""

import os
import time
from pathlib import Path


def pause(name: str) -> None:
    if os.environ.get("FIXTURE_PAUSE") != name:
        return
    marks = Path(os.environ["FIXTURE_MARKS"])
    marks.mkdir(parents=True, exist_ok=True)
    (marks / name).write_text(str(os.getpid()))
    time.sleep(float(os.environ.get("FIXTURE_PAUSE_SECONDS", "300")))

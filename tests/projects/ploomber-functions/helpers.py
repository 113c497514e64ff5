"""Shared by the task functions and the notebook."""

from pathlib import Path


def log_run(name: str) -> None:
    # outside every product, so a cache restore never replays it
    with Path("kernel-runs.txt").open("a") as runs:
        runs.write(name + "\n")

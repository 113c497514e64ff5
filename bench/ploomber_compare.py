"""Rebuild behaviour of ``nbrules build`` against ``ploomber build`` on one fixture.

Both tools build their own copy of ``tests/projects/ploomber-basic`` (unchanged: it is
a Ploomber project), in the same run, through the same steps: full build, no-op,
comment-only edit, revert of that edit, a ``params:`` change in ``pipeline.yaml``, and
its revert. Each fixture notebook appends its name to ``kernel-runs.txt`` when its
kernel runs, so "tasks executed" counts real executions (a cache restore is not one).

Ploomber must not be a dependency of nbrules: install it in a separate environment::

    python -m venv /tmp/ploomber-venv
    /tmp/ploomber-venv/bin/pip install ploomber ipykernel
    python bench/ploomber_compare.py --ploomber /tmp/ploomber-venv/bin/ploomber

Both run serially (``--cores 1``, Ploomber's default executor) for a fair wall time.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from benchlib import timed_run

FIXTURE = Path(__file__).resolve().parents[1] / "tests" / "projects" / "ploomber-basic"
COMMENT = "# %%\nwith open(upstream"
Step = tuple[str, Callable[[Path], None]]


def _replace(relative: str, old: str, new: str) -> Callable[[Path], None]:
    def edit(project: Path) -> None:
        path = project / relative
        text = path.read_text()
        assert old in text, (relative, old)
        path.write_text(text.replace(old, new, 1))

    return edit


def _nothing(project: Path) -> None:
    return None


STEPS: list[Step] = [
    ("full build", _nothing),
    ("no-op", _nothing),
    ("comment edit (cube.py)", _replace("scripts/cube.py", COMMENT,
                                        "# %%\n# read the numbers\nwith open(upstream")),
    ("revert the comment", _replace("scripts/cube.py", "# read the numbers\n", "")),
    ("param change (cube power 3 → 4)", _replace("pipeline.yaml", "power: 3", "power: 4")),
    ("revert the param", _replace("pipeline.yaml", "power: 4", "power: 3")),
]


def _run(command: list[str], project: Path) -> tuple[list[str], float]:
    runs = project / "kernel-runs.txt"
    seen = len(runs.read_text().splitlines()) if runs.exists() else 0
    env = {k: v for k, v in os.environ.items() if k not in ("NBRULES_CACHE", "NBRULES_BUILD")}
    _, seconds = timed_run(command, project, env)
    lines = runs.read_text().splitlines() if runs.exists() else []
    return sorted(lines[seen:]), seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ploomber", required=True, help="the ploomber executable")
    args = parser.parse_args()
    tools = {
        "ploomber build": [args.ploomber, "build"],
        "nbrules build": [sys.executable, "-m", "nbrules", "build", "--cores", "1"],
    }
    with tempfile.TemporaryDirectory() as tmp:
        projects = {}
        for tool in tools:
            projects[tool] = Path(tmp) / tool.replace(" ", "-")
            shutil.copytree(FIXTURE, projects[tool])
        rows = []
        for label, edit in STEPS:
            cells = [label]
            for tool, command in tools.items():
                edit(projects[tool])
                ran, seconds = _run(command, projects[tool])
                cells.append(f"{len(ran)} ({', '.join(ran) or '—'}) in {seconds:.1f} s")
            rows.append(cells)
    print("| step | " + " | ".join(f"{t}: tasks executed" for t in tools) + " |")
    print("|---|" + "---|" * len(tools))
    for cells in rows:
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()

"""One Snakemake build of a project, told notebook by notebook (``pytest --nbrules``).

The build is plain ``snakemake --profile PROFILE --keep-going`` in the project
folder, cache on. What each notebook did comes from the build itself, never from
guessing: the product cache's events of this build (``hit``, ``miss``, ``error``,
under a build id this module sets) and the lines the build appended to each job's
log (``nbrules: clean: cache hit …``, or the failure at its ``.py`` line; Snakemake
recreates the log of every job it runs).
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..cache.admin import build_events
from ..cache.store import ENV_BUILD, Store, store_root
from ..plan.settings import CacheSettings
from .commandline import sets_cores
from .injection import NotebookCell
from .project import profile_folder

#: What a notebook did in the build.
EXECUTED, RESTORED, UP_TO_DATE, FAILED, NOT_RUN = (
    "executed",
    "restored",
    "up to date",
    "failed",
    "not run",
)
OUTPUT_TAIL = 40


@dataclass(frozen=True, slots=True)
class Outcome:
    task: str
    state: str
    detail: str


@dataclass(frozen=True, slots=True)
class SmokeBuild:
    build_id: str
    profile: str
    returncode: int
    output: str
    outcomes: Mapping[str, Outcome]

    def count(self, state: str) -> int:
        return sum(outcome.state == state for outcome in self.outcomes.values())


def run_build(
    root: Path, profile: str, cells: Sequence[NotebookCell], cache: CacheSettings
) -> SmokeBuild:
    """Build the project in ``root`` with ``profile``; each notebook's outcome."""
    logs = {cell.task: root / cell.spec.log for cell in cells}
    before = {task: _read(path) for task, path in logs.items()}
    build_id = f"pytest-{uuid.uuid4().hex[:12]}"
    folder = profile_folder(profile, root)
    command = [sys.executable, "-m", "snakemake", "--profile", str(folder), "--keep-going"]
    if not sets_cores([], folder):
        command += ["--cores", "all"]
    done = subprocess.run(
        command,
        cwd=root,
        env={**os.environ, ENV_BUILD: build_id},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        check=False,
    )
    events = _events(root, cache, build_id)
    appended = {task: _new_text(before[task], _read(path)) for task, path in logs.items()}
    outcomes: dict[str, Outcome] = {}
    for cell in cells:  # in build order: upstream outcomes are known first
        outcomes[cell.task] = _outcome(cell, events, appended, done, outcomes)
    return SmokeBuild(build_id, profile, done.returncode, done.stdout, outcomes)


def _outcome(
    cell: NotebookCell,
    events: Mapping[str, str],
    appended: Mapping[str, str],
    done: subprocess.CompletedProcess[str],
    before: Mapping[str, Outcome],
) -> Outcome:
    task, event, text = cell.task, events.get(cell.task), appended[cell.task].strip()
    if event == "hit":
        return Outcome(task, RESTORED, text)
    if event == "miss":
        return Outcome(task, EXECUTED, text)
    if event == "error" or text:
        return Outcome(task, FAILED, text.removeprefix("nbrules: ") or _tail(done.stdout))
    if done.returncode == 0:
        return Outcome(task, UP_TO_DATE, "nothing to do: products up to date")
    broken = [n for n in cell.spec.upstream if n in before and before[n].state in (FAILED, NOT_RUN)]
    if broken:
        return Outcome(task, NOT_RUN, f"not run: upstream '{broken[0]}' did not build")
    return Outcome(task, FAILED, f"snakemake exited {done.returncode}:\n{_tail(done.stdout)}")


def _events(root: Path, cache: CacheSettings, build_id: str) -> dict[str, str]:
    try:
        store = Store.open(store_root(cache.root, root))
    except OSError:
        return {}
    return {str(e.get("task")): str(e.get("result")) for e in build_events(store, build_id)}


@dataclass(frozen=True, slots=True)
class _Log:
    stamp: tuple[int, int, int]  # inode, mtime (ns), size: the file was rewritten if it moves
    text: str


def _read(path: Path) -> _Log:
    try:
        info = path.stat()
        return _Log((info.st_ino, info.st_mtime_ns, info.st_size), path.read_text(errors="replace"))
    except FileNotFoundError:
        return _Log((0, 0, 0), "")


def _new_text(old: _Log, new: _Log) -> str:
    """What this build wrote to a job log: Snakemake recreates the log of a job it runs."""
    if new.stamp == old.stamp:
        return ""
    appended = new.stamp[0] == old.stamp[0] and new.text.startswith(old.text)
    return new.text[len(old.text) :] if appended else new.text


def _tail(output: str) -> str:
    return "\n".join(output.rstrip().splitlines()[-OUTPUT_TAIL:])

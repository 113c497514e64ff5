"""Helpers of the reliability tests: real Snakemake, real kernels, real files.

The fixture project is ``tests/projects/reliability`` (``make-data`` → ``square`` →
``report``; ``make-data`` also writes a folder product). Its notebooks pause when
``FIXTURE_PAUSE`` names them (see its ``src/fixture_pause.py``), so a test can kill
a job, or Snakemake, while a notebook runs. Executions are counted from the store's
events: every job appends one event (``hit``, ``miss`` or ``error``) under its
build id, and a ``miss`` is exactly a notebook that was executed.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

PROJECTS = Path(__file__).resolve().parents[1] / "projects"
FIXTURE = PROJECTS / "reliability"
TASKS = ("make-data", "square", "report")
IGNORE = shutil.ignore_patterns("results", "logs", ".snakemake", ".nbrules", "__pycache__")
TIMEOUT = 300


@dataclass
class Build:
    """One ``snakemake`` run (maybe still running): its process, id, store and output."""

    project: Path
    store: Path
    id: str
    process: subprocess.Popen[str]
    output: str = ""
    marks: Path = field(default_factory=Path)

    @property
    def code(self) -> int | None:
        return self.process.returncode

    def wait(self, timeout: float = TIMEOUT) -> Build:
        self.output, _ = self.process.communicate(timeout=timeout)
        return self

    def events(self) -> list[dict[str, object]]:
        return events(self.store, self.id)

    def executed(self) -> list[str]:
        return sorted(str(e["task"]) for e in self.events() if e["result"] == "miss")

    def hits(self) -> list[str]:
        return sorted(str(e["task"]) for e in self.events() if e["result"] == "hit")

    def line(self, task: str) -> str:
        """The job's one ``nbrules: <task>: cache …`` line."""
        return next(line for line in self.output.splitlines()
                    if line.startswith(f"nbrules: {task}: cache "))

    def wait_for_pause(self, task: str, timeout: float = 120) -> int:
        """Wait until ``task``'s notebook is paused; the pid of its job process."""
        mark = self.marks / task
        deadline = time.monotonic() + timeout
        while not mark.exists():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.wait()
                raise AssertionError(f"{task} never paused:\n{self.output[-4000:]}")
            time.sleep(0.1)
        kernel = int(mark.read_text())
        return parent_of(kernel)


def events(store: Path, build: str) -> list[dict[str, object]]:
    folder = store / "events" / build
    return [json.loads(line) for path in sorted(folder.glob("*.jsonl"))
            for line in path.read_text().splitlines()]


def all_events(store: Path) -> list[dict[str, object]]:
    return [json.loads(line) for path in sorted((store / "events").glob("*/*.jsonl"))
            for line in path.read_text().splitlines()]


def parent_of(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[1])


def environment(store: Path, build: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("NBRULES_", "FIXTURE_"))}
    env.update(NBRULES_BUILD_ID=build, NBRULES_CACHE=str(store), PYTHONUNBUFFERED="1",
               PYTHONDONTWRITEBYTECODE="1", **extra)
    return env


def start(project: Path, *args: str, store: Path | None = None, pause: str | None = None,
          pause_seconds: float = 300, command: tuple[str, ...] = ("-m", "snakemake"),
          **extra: str) -> Build:
    """Start a build in ``project`` (the fixture's profile unless ``args`` say otherwise)."""
    store = store or project / ".nbrules" / "cache"
    build = f"test-{uuid.uuid4().hex[:10]}"
    marks = project / ".marks"
    if pause is not None:
        extra.update(FIXTURE_PAUSE=pause, FIXTURE_MARKS=str(marks),
                     FIXTURE_PAUSE_SECONDS=str(pause_seconds))
    argv = list(args) or ["--profile", "profiles/local"]
    process = subprocess.Popen(
        [sys.executable, *command, *argv], cwd=project, env=environment(store, build, **extra),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    return Build(project, store, build, process, marks=marks)


def build(project: Path, *args: str, ok: bool = True, **kwargs: object) -> Build:
    """Run a build to its end; by default it must succeed."""
    done = start(project, *args, **kwargs).wait()  # type: ignore[arg-type]
    if ok:
        assert done.code == 0, done.output[-6000:]
    return done


def products(project: Path, root: str = "results/sample") -> dict[str, bytes]:
    """Every product file (folder products included) by relative path."""
    base = project / root
    return {str(p.relative_to(base)): p.read_bytes() for p in sorted(base.rglob("*"))
            if p.is_file() and p.name != ".snakemake_timestamp"}


def data(project: Path) -> dict[str, bytes]:
    """The products that must be byte-identical whichever run made them: not the executed
    notebooks nor their HTML renderings (both show the run's absolute paths and timings)."""
    return {k: v for k, v in products(project).items() if not k.endswith((".ipynb", ".html"))}


def temps(project: Path) -> list[Path]:
    return [p for p in project.rglob("*.nbrules-tmp") if ".nbrules" not in p.parts]


def copy(source: Path, dest: Path) -> Path:
    shutil.copytree(source, dest, symlinks=True)
    return dest


def kill_all(one: Build) -> None:
    """A build's whole session (Snakemake, its jobs) and the kernels that paused in it."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(one.process.pid, signal.SIGKILL)
    for mark in one.marks.glob("*") if one.marks.is_dir() else []:
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(mark.read_text()), signal.SIGKILL)
    if one.process.returncode is None:
        one.process.communicate()

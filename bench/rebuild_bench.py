"""Rebuild scenarios of issue 4: nbrules against plain Snakemake and the plain-python floor.

For one pipeline (``pipelines.py``), in one temp folder, three copies of the project:

- ``nbrules/``: the project as is, ``snakemake`` with an empty content cache at first
  (``NBRULES_CACHE``); kernels started are counted from the cache's events log of
  each build (``NBRULES_BUILD_ID`` names the build) and checked against the
  ``nbrules: <task>: cache miss`` lines the jobs print;
- ``plain/``: the same DAG as a static Snakefile without nbrules (see ``baseline.py``);
- ``floor/``: every notebook's code as a plain ``python`` script (same injected
  parameters), run one after the other — no kernel, no Snakemake, no cache.

Each step edits both Snakemake copies the same way, then builds each.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from benchlib import (
    EN_DASH,
    Build,
    environment,
    median,
    progress,
    ratio,
    seconds,
    snakemake,
    table,
    timed,
)
from pipelines import (
    Edits,
    Pipeline,
    Profile,
    floor_seconds,
    merged_config,
    rule_specs_of,
    write_baseline,
)

# A kernel that dies at start-up (seen once on the shared machine: "Kernel died before
# replying to kernel_info") should not abort a 15-minute run; restarts are reported.
RETRY = ("--retries", "1")


@dataclass(frozen=True, slots=True)
class Step:
    label: str
    action: str
    profile: int
    needed: str  # what must run per issue 4: "all", "first" or "none"
    idempotent: bool = False


STEPS = (
    Step("full build (cold: no results, empty cache)", "none", 0, "all"),
    Step("no-op rebuild", "none", 0, "none", idempotent=True),
    Step("comment-only edit of {first}", "comment", 0, "none"),
    Step("identical-output edit of {first} (rename a local)", "identical", 0, "first"),
    Step("real edit of {first} (its data changes)", "real", 0, "all"),
    Step("revert of the real edit", "revert", 0, "none"),
    Step("*(switch to {b}: its first build)*", "none", 1, "all"),
    Step("profile switch back ({a} → {b} → {a})", "none", 0, "none", idempotent=True),
    Step("*extra:* {a} again after deleting {results} (warm cache, no results)", "delete",
         0, "none"),
)


# ---------------------------------------------------------------- the steps


def _replace(path: Path, edits: Edits, reverse: bool = False) -> None:
    text = path.read_text()
    for old, new in reversed(edits) if reverse else edits:
        if reverse:
            old, new = new, old
        if text.count(old) != 1:
            sys.exit(f"{path}: expected exactly one {old!r} to edit")
        text = text.replace(old, new)
    path.write_text(text)


def _apply(step: Step, project: Path, pipeline: Pipeline, results: str) -> None:
    source = project / pipeline.first
    if step.action in ("comment", "identical", "real"):
        _replace(source, getattr(pipeline, step.action))
    elif step.action == "revert":
        _replace(source, pipeline.real, reverse=True)
    elif step.action == "delete":
        shutil.rmtree(project / results)


@dataclass(slots=True)
class Cell:
    """What one variant did at one step, over every repetition."""

    seconds: list[float] = field(default_factory=list)
    kernels: list[tuple[str, ...]] = field(default_factory=list)
    jobs: list[int] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def _nbrules_build(project: Path, profile: Profile, tag: str) -> tuple[Build, tuple[str, ...]]:
    from nbrules.cache.admin import build_events
    from nbrules.cache.store import Store

    build_id = f"bench-{tag}-{time.time_ns()}"
    cache = project.parent / "cache"
    env = environment(NBRULES_CACHE=str(cache), NBRULES_BUILD_ID=build_id)
    build = snakemake(project, (*profile.args, *RETRY), env)
    events = build_events(Store(cache), build_id) if cache.is_dir() else iter(())
    misses = tuple(str(e.get("task")) for e in events if e.get("result") == "miss")
    return build, misses


def run_sequence(pipeline: Pipeline, work: Path, cheap: int) -> dict[tuple[int, str], Cell]:
    """Every step, on fresh copies of the project; one :class:`Cell` per step and variant."""
    projects = {"nbrules": work / "nbrules" / "project", "plain": work / "plain" / "project"}
    for variant, project in projects.items():
        pipeline.setup(project)
        if variant == "plain":
            write_baseline(project, pipeline)
    results = [_root(projects["nbrules"], pipeline, p) for p in pipeline.profiles]
    cells: dict[tuple[int, str], Cell] = {}
    for index, step in enumerate(STEPS):
        profile = pipeline.profiles[step.profile]
        for variant, project in projects.items():
            _apply(step, project, pipeline, results[step.profile])
            cell = cells.setdefault((index, variant), Cell())
            for _ in range(cheap if step.idempotent else 1):
                if variant == "nbrules":
                    build, misses = _nbrules_build(project, profile, f"{index}")
                    if sorted(misses) != sorted(build.misses):
                        cell.problems.append(f"nbrules: events log {sorted(misses)} ≠ job "
                                             f"lines {sorted(build.misses)}")
                else:
                    build = snakemake(project, (*profile.args, *RETRY), environment())
                    misses = build.misses
                if build.restarts:
                    cell.problems.append(f"{variant}: {build.restarts} job(s) failed once and "
                                         f"were restarted ({'; '.join(build.errors())})")
                cell.seconds.append(build.seconds)
                cell.kernels.append(misses)
                cell.jobs.append(len(build.jobs))
            progress(f"{pipeline.name[:18]}: step {index + 1} {variant}: "
                     f"{len(cell.kernels[-1])} kernels, {cell.jobs[-1]} jobs, "
                     f"{median(cell.seconds):.1f} s")
    return cells


def _root(project: Path, pipeline: Pipeline, profile: Profile) -> str:
    return str(merged_config(project, profile.configfiles)["results"])


def restore_job(project: Path, pipeline: Pipeline, repeat: int) -> dict[str, float]:
    """Seconds of one cache-hit job alone, of Python start-up and of importing nbrules.run.job."""
    from nbrules.plan.jobspec import write_spec_file

    spec = write_spec_file(rule_specs_of(project, pipeline, pipeline.profiles[0])[1].job, project)
    env = environment(NBRULES_CACHE=str(project.parent / "cache"))
    job = [sys.executable, "-m", "nbrules", "run", spec]
    done = subprocess.run(job, cwd=project, env=env, capture_output=True, text=True, check=True)
    if "cache hit" not in done.stderr:
        sys.exit(f"expected a cache hit: {done.stderr}")
    commands = {"job": job, "start": [sys.executable, "-c", "pass"],
                "import": [sys.executable, "-c", "import nbrules.run.job"]}
    return {name: median([timed(command, project, env) for _ in range(repeat)])
            for name, command in commands.items()}


# ---------------------------------------------------------------- the table


def _expected(step: Step, total: int) -> int:
    return {"all": total, "first": 1, "none": 0}[step.needed]


def _count(cell: Cell, expected: int | None) -> str:
    counts = sorted({len(k) for k in cell.kernels})
    text = _span(counts)
    names = sorted({n for k in cell.kernels for n in k})
    if 0 < len(names) <= 2:
        text += f" ({', '.join(names)})"
    if expected is not None:
        text += " ✓" if counts == [expected] else f" ✗ (expected {expected})"
    return text


def _jobs(cell: Cell) -> str:
    return _span(cell.jobs)


def _span(values: Sequence[int]) -> str:
    low, high = min(values), max(values)
    return str(low) if low == high else f"{low}{EN_DASH}{high}"


def _floor(step: Step, floors: Sequence[Mapping[str, float]], first: str) -> float:
    times = floors[step.profile]
    return {"all": sum(times.values()), "first": times[first], "none": 0.0}[step.needed]


def rebuild_table(pipeline: Pipeline, runs: Sequence[Mapping[tuple[int, str], Cell]],
                  floors: Sequence[Mapping[str, float]]) -> tuple[str, list[str]]:
    """The Markdown table of one pipeline, and the problems found on the way."""
    first = Path(pipeline.first).stem
    total = len(floors[0])
    a, b = (p.label for p in pipeline.profiles)
    results = "its results"
    rows, problems = [], []
    for index, step in enumerate(STEPS):
        nb, plain = (_merge([run[(index, v)] for run in runs]) for v in ("nbrules", "plain"))
        problems += [f"{step.label}: {p}" for p in (*nb.problems, *plain.problems)]
        floor = _floor(step, floors, first)
        nb_s, plain_s = median(nb.seconds), median(plain.seconds)
        expected = _expected(step, total)
        rows.append([
            step.label.format(first=f"`{first}`", a=a, b=b, results=results),
            str(expected), _count(nb, expected), _jobs(nb), seconds(nb_s),
            _count(plain, None), _jobs(plain), seconds(plain_s), ratio(nb_s, plain_s),
            seconds(floor), ratio(nb_s, floor),
        ])
    headers = ["step", "kernels expected (issue 4)", "nbrules: kernels", "jobs", "wall (s)",
               "plain Snakemake: kernels", "jobs", "wall (s)", "nbrules ÷ plain",
               "python floor (s)", "nbrules ÷ floor"]
    return table(headers, rows), problems


def _restore_note(restores: Sequence[Mapping[str, float]]) -> str:
    job, start, imports = (median([r[k] for r in restores]) for k in ("job", "start", "import"))
    return (f"One restore job alone (`python -m nbrules run`, a cache hit): {job:.2f} s, of "
            f"which Python start-up {start:.2f} s and `import nbrules.run.job` "
            f"{imports - start:.2f} s more.")


def _merge(cells: Sequence[Cell]) -> Cell:
    merged = Cell()
    for cell in cells:
        merged.seconds += cell.seconds
        merged.kernels += cell.kernels
        merged.jobs += cell.jobs
        merged.problems += cell.problems
    return merged


def rebuild_section(pipeline: Pipeline, sequences: int, cheap: int) -> str:
    runs, floors_by_run, floor_runs, restores = [], [], [], []
    for sequence in range(sequences):
        work = Path(tempfile.mkdtemp(prefix="nbrules-cache-bench-"))
        try:
            progress(f"{pipeline.name}: sequence {sequence + 1}/{sequences} in {work}")
            runs.append(run_sequence(pipeline, work, cheap))
            restores.append(restore_job(work / "nbrules" / "project", pipeline, cheap))
            floor_project = work / "floor" / "project"
            pipeline.setup(floor_project)
            measured = [floor_seconds(floor_project, pipeline, p, cheap)
                        for p in pipeline.profiles]
            floors_by_run.append([times for times, _ in measured])
            floor_runs += [count for _, count in measured]
        finally:
            shutil.rmtree(work, ignore_errors=True)
    floors = [{name: median([run[i][name] for run in floors_by_run])
               for name in floors_by_run[0][i]} for i in range(2)]
    text, problems = rebuild_table(pipeline, runs, floors)
    notes = [f"Full pipeline as plain python scripts, sequentially: "
             f"{seconds(sum(floors[0].values()))} s ({pipeline.profiles[0].label}), "
             f"{seconds(sum(floors[1].values()))} s ({pipeline.profiles[1].label}); "
             f"per notebook the median of {_span(floor_runs)} run(s).",
             _restore_note(restores)]
    notes += [f"**Problem:** {p}" for p in problems]
    return f"### {pipeline.name}\n\n{text}\n\n" + "\n".join(notes) + "\n"

"""The content cache on real Snakemake runs with real kernels (tests/projects/cache-chain).

The fixture pipeline: ``make-numbers -> square -> report <- letters``; ``square``
imports ``src/mathutil.py``, ``letters`` imports ``src/textutil.py``. The project is
built once per module; every test works on its own copy of that build (outputs,
``.snakemake`` metadata and the ``.nbrules/cache`` store included).

Kernels are counted from the cache's events log: every job appends one event
(``hit``/``miss``) under the build id that ``notebooks.smk`` exports, and a miss is
exactly a job that started a kernel.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

FIXTURE = Path(__file__).resolve().parents[1] / "projects" / "cache-chain"
TASKS = {"make-numbers", "letters", "square", "report"}
LINE = re.compile(r"^nbrules: ([\w-]+): cache (hit|miss) ([0-9a-f]{12})(?: — (.+))? \((.+)\)$")


@dataclass(frozen=True)
class Build:
    """One snakemake run: what it scheduled and what each job's cache did."""

    output: str
    scheduled: frozenset[str]
    events: tuple[dict[str, object], ...]

    @property
    def nothing_to_do(self) -> bool:
        return "Nothing to be done" in self.output

    @property
    def executed(self) -> set[str]:
        """Tasks whose kernel started."""
        return {str(e["task"]) for e in self.events if e["result"] == "miss"}

    @property
    def hits(self) -> set[str]:
        return {str(e["task"]) for e in self.events if e["result"] == "hit"}

    def reason(self, task: str) -> str:
        return next(str(e["reason"]) for e in self.events if e["task"] == task)


def snakemake(project: Path, configfile: str = "config.yaml",
              store: Path | None = None) -> Build:
    build_id = f"test-{uuid.uuid4().hex[:8]}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("NBRULES_")}
    env["NBRULES_BUILD_ID"] = build_id
    if store is not None:
        env["NBRULES_CACHE"] = str(store)
    proc = subprocess.run(
        [sys.executable, "-m", "snakemake", "--cores", "2", "--configfile", configfile],
        cwd=project, env=env, capture_output=True, text=True, timeout=300,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    scheduled = frozenset(
        m.group(1).replace("_", "-") for m in re.finditer(r"^localrule ([\w]+):", output, re.M)
    ) - {"notebooks"}
    events_dir = (store or project / ".nbrules" / "cache") / "events" / build_id
    events = tuple(
        json.loads(line)
        for path in sorted(events_dir.glob("*.jsonl"))
        for line in path.read_text().splitlines()
    )
    return Build(output, scheduled, events)


def products(project: Path, root: str = "results/sample") -> dict[str, bytes]:
    base = project / root
    return {str(p.relative_to(base)): p.read_bytes() for p in sorted(base.rglob("*"))
            if p.is_file()}


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new))


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    project = tmp_path_factory.mktemp("built") / "cache-chain"
    shutil.copytree(FIXTURE, project, ignore=shutil.ignore_patterns(
        "results", "logs", ".snakemake", ".nbrules"))
    first = snakemake(project)
    assert first.executed == TASKS
    assert {first.reason(t) for t in TASKS} == {"first build"}
    return project


@pytest.fixture
def project(built: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "cache-chain"
    shutil.copytree(built, copy, symlinks=True)
    return copy


def test_second_build_schedules_nothing_and_starts_no_kernel(project: Path) -> None:
    again = snakemake(project)
    assert again.nothing_to_do
    assert again.events == ()


def test_comment_only_edit_schedules_nothing(project: Path) -> None:
    before = products(project)
    edit(project / "notebooks" / "make-numbers.py", "# %%\nvalues = list(range(count))\n",
         '# %% [markdown]\n# Prose edited.\n\n# %%\n"""A docstring."""\n'
         "# a new comment\n\nvalues = list(  # reformatted\n    range(count),\n)\n\n")
    edit(project / "notebooks" / "square.py", "numbers = [int(line) for line in handle]",
         "numbers = [\n        int(line)  # one per line\n        for line in handle\n    ]")
    build = snakemake(project)
    assert build.nothing_to_do
    assert build.events == ()
    assert products(project) == before


def test_identical_output_edit_runs_one_kernel_downstream_hits(project: Path) -> None:
    before = products(project)
    source = project / "notebooks" / "make-numbers.py"
    edit(source, "values = list(range(count))", "numbers_list = list(range(count))")
    edit(source, "str(v) for v in values", "str(v) for v in numbers_list")
    build = snakemake(project)
    assert build.executed == {"make-numbers"}
    assert build.reason("make-numbers") == "code changed"
    assert build.hits == {"square", "report"}  # early cutoff: scheduled, no kernel
    assert "letters" not in build.scheduled
    after = products(project)
    # the upstream's executed notebook (and its HTML rendering, for the report) changed,
    # yet it is not part of square's key
    executed = {"numbers.ipynb", "numbers.html"}
    assert all(after[k] != before[k] for k in executed)
    assert {k: v for k, v in after.items() if k not in executed} == {
        k: v for k, v in before.items() if k not in executed}
    assert snakemake(project).nothing_to_do


@pytest.mark.slow
def test_real_change_reruns_downstream_and_revert_restores_bytes(project: Path) -> None:
    before = products(project)
    source = project / "notebooks" / "make-numbers.py"
    original = source.read_text()
    edit(source, "values = list(range(count))", "values = [10 * v for v in range(count)]")
    changed = snakemake(project)
    assert changed.executed == {"make-numbers", "square", "report"}
    assert "letters" not in changed.scheduled
    assert changed.reason("square") == "input changed: make-numbers/data"
    assert products(project)["squares.txt"] != before["squares.txt"]

    source.write_text(original)
    reverted = snakemake(project)
    assert reverted.executed == set()
    assert reverted.hits == {"make-numbers", "square", "report"}
    assert products(project) == before


@pytest.mark.slow
def test_profile_switch_and_back_starts_no_kernel(project: Path) -> None:
    sample = products(project)
    dev = snakemake(project, "dev.yaml")
    # other root and params: letters (same params) still hits, from another folder
    assert dev.executed == {"make-numbers", "square", "report"}
    assert dev.hits == {"letters"}
    assert dev.reason("make-numbers").startswith("first build")

    back = snakemake(project, "config.yaml")
    assert back.nothing_to_do and back.events == ()

    # the sample root with dev's params: every key was computed under results/dev
    wide = snakemake(project, "wide.yaml")
    assert wide.executed == set()
    assert wide.hits == {"make-numbers", "square", "report"}
    assert products(project)["squares.txt"] == products(project, "results/dev")["squares.txt"]

    home = snakemake(project, "config.yaml")
    assert home.executed == set()
    assert products(project) == sample


def test_helper_module_edit_reruns_only_importers(project: Path) -> None:
    edit(project / "src" / "textutil.py", '"""Text helpers for the letters notebook."""',
         '"""Text helpers, reworded docstring."""\n# and a comment')
    assert snakemake(project).nothing_to_do

    edit(project / "src" / "mathutil.py", "return n * n", "return n * n + 1")
    build = snakemake(project)
    assert build.scheduled == {"square", "report"}
    assert build.executed == {"square", "report"}
    assert build.reason("square") == "code changed"


def test_deleted_products_are_restored_without_kernel(project: Path) -> None:
    before = products(project)
    (project / "results" / "sample" / "squares.txt").unlink()
    one = snakemake(project)
    assert one.executed == set()
    assert one.hits == {"square", "report"}
    assert products(project) == before

    shutil.rmtree(project / "results")
    everything = snakemake(project)
    assert everything.executed == set()
    assert everything.hits == TASKS
    assert products(project) == before


def test_shared_store_serves_another_checkout(built: Path, tmp_path: Path) -> None:
    checkout = tmp_path / "elsewhere" / "checkout"
    shutil.copytree(FIXTURE, checkout, ignore=shutil.ignore_patterns(
        "results", "logs", ".snakemake", ".nbrules"))
    build = snakemake(checkout, store=built / ".nbrules" / "cache")
    assert build.executed == set()
    assert build.hits == TASKS
    assert products(checkout) == products(built)
    assert not (checkout / ".nbrules" / "cache").exists()  # only job spec files


def test_each_job_logs_one_line_and_cache_commands_work(project: Path) -> None:
    (project / "results" / "sample" / "squares.txt").unlink()
    build = snakemake(project)
    log = (project / "logs" / "sample" / "square.log").read_text().splitlines()
    assert len(log) == 1
    match = LINE.match(log[0])
    # its data, its executed notebook and that notebook's HTML rendering (the report's)
    assert match and match.group(2) == "hit" and match.group(5) == "restored 3 products"
    assert log[0] in build.output  # also on stderr
    miss = (project / "logs" / "sample" / "letters.log").read_text().strip()
    assert LINE.match(miss) and "cache miss" in miss and "— first build (executed in" in miss

    def nbrules(*args: str) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("NBRULES_")}
        return subprocess.run([sys.executable, "-m", "nbrules", "cache", *args],
                              cwd=project, env=env, capture_output=True, text=True)

    assert nbrules("path").stdout.strip() == str(project / ".nbrules" / "cache")
    stats = nbrules("stats").stdout
    assert "entries: 4" in stats and "2 hits, 0 misses (hit ratio 100%)" in stats

    store = project / ".nbrules" / "cache"
    squares = json.loads(next(
        p for p in (store / "manifests").glob("*.json") if '"square"' in p.read_text()
    ).read_text())["products"]["data"]["object"].split(":")[1]
    bad = store / "objects" / squares[:2] / squares
    bad.chmod(0o644)
    bad.write_bytes(b"X" * bad.stat().st_size)
    verify = nbrules("verify")
    assert verify.returncode == 1 and f"object {squares[:12]}" in verify.stdout
    assert nbrules("verify").returncode == 0

    (project / "results" / "sample" / "squares.txt").unlink()
    rebuilt = snakemake(project)
    assert rebuilt.executed == {"square"}  # the dropped entry runs again …
    assert rebuilt.reason("square") == "not in cache"
    assert rebuilt.hits == {"report"}  # … and its identical output cuts off report

    dry = nbrules("gc", "--max-size", "0", "--dry-run")
    assert dry.returncode == 0 and "would remove 4 entries" in dry.stdout
    assert len(list((store / "manifests").glob("*.json"))) == 4


def test_the_history_log_keeps_every_build_while_the_job_log_keeps_the_last(
    project: Path,
) -> None:
    (project / "results" / "sample" / "squares.txt").unlink()
    snakemake(project)  # the second real build: square is restored
    logs = project / "logs" / "sample"
    last = (logs / "square.log").read_text().splitlines()
    history = (logs / "square.history.log").read_text().splitlines()
    assert len(last) == 1 and "cache hit" in last[0]
    assert len(history) == 2
    stamp = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4} "
    assert re.match(stamp + "nbrules: square: cache miss", history[0])
    assert re.fullmatch(stamp + re.escape(last[0]), history[1])

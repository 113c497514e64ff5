"""The pipeline on a real SLURM cluster: one node, this machine, no mock.

The cluster is the one ``../shared/slurm/start-local-slurm.sh`` makes (Debian's
slurm-wlm and munge, as root). A cluster that already answers is used as is;
otherwise the tests start one and stop it afterwards (``.ci/slurm-setup`` does the
same for ``.ci/run``). Where SLURM cannot start, the tests skip with the reason —
and fail instead when ``CI=true``, so CI can never pass without them.

Every ``snakemake --executor slurm`` runs under ``timeout -s KILL``: without
accounting the plugin's default status command (sacct) hangs forever, and SIGTERM
does not end it. The plugin polls 1 s, 11 s, 21 s… after a submission, so each SLURM
job costs ≈11 s or more: the example runs as one job group.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import copy_project

REPO = Path(__file__).resolve().parents[2]
SCRIPTS = Path(os.environ.get("NBRULES_SLURM_SCRIPTS", REPO.parent / "shared" / "slurm"))
PARTITION = "debug"
RUN_TIMEOUT = 900
SUBMITTED = re.compile(r"has been submitted with SLURM jobid (\d+)")
#: What the local test cluster needs on the command line (tests/profiles/slurm-sample
#: holds the same for the example): its partition, squeue status checks (no
#: accounting), a 1 s first check instead of 40 s, the failing notebook's log shown.
CLUSTER = (
    "--executor", "slurm", "--jobs", "2",
    "--default-resources", f"slurm_partition={PARTITION}", "mem_mb=500", "runtime=5",
    "--slurm-status-command", "squeue", "--slurm-init-seconds-before-status-checks", "1",
    "--latency-wait", "5", "--show-failed-logs",
)
slurm = pytest.mark.slurm


# ------------------------------------------------------------------ the cluster


def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"SLURM tests must run in CI, but {reason}", pytrace=False)
    pytest.skip(f"no SLURM cluster: {reason}")


def _need_plugin() -> None:
    import importlib.util

    if importlib.util.find_spec("snakemake_executor_plugin_slurm") is None:
        _unavailable("snakemake-executor-plugin-slurm is missing: pip install -e '.[slurm]'")


def _run(*command: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                          check=False)


def _answering() -> bool:
    if shutil.which("scontrol") is None:
        return False
    try:
        return "UP" in _run("scontrol", "ping", timeout=15).stdout
    except subprocess.TimeoutExpired:
        return False


def _start() -> None:
    script = SCRIPTS / "start-local-slurm.sh"
    if not script.is_file():
        _unavailable(f"{script} not found (set NBRULES_SLURM_SCRIPTS)")
    if os.geteuid() != 0:
        _unavailable("starting the local cluster needs root")
    try:
        done = _run("timeout", "-s", "KILL", "600", "bash", str(script), timeout=660)
    except subprocess.TimeoutExpired:
        _unavailable(f"{script.name} did not finish in 600 s")
    if done.returncode != 0:
        _unavailable(f"{script.name} failed:\n{(done.stdout + done.stderr)[-2000:]}")


@pytest.fixture(scope="module")
def slurm_cluster() -> Iterator[None]:
    """A SLURM cluster with partition ``debug`` (started here if none answers)."""
    _need_plugin()
    started = False
    if not _answering():
        if shutil.which("timeout") is None:
            _unavailable("coreutils' timeout is missing")
        _start()
        started = True
    partitions = _run("sinfo", "-h", "-o", "%P").stdout.replace("*", "").split()
    if PARTITION not in partitions:
        _unavailable(f"the cluster has no partition '{PARTITION}' (has {partitions})")
    yield
    if started:
        _run("timeout", "-s", "KILL", "120", "bash", str(SCRIPTS / "stop-local-slurm.sh"),
             timeout=150)


def job_field(job_id: str, name: str) -> str:
    """One ``Name=value`` field of ``scontrol show job`` (kept 1 h: MinJobAge=3600)."""
    shown = _run("scontrol", "show", "job", job_id).stdout
    match = re.search(rf"\b{re.escape(name)}=(\S+)", shown)
    assert match, f"no {name} in scontrol show job {job_id}:\n{shown}"
    return match.group(1)


def sacct_state(job_id: str) -> str | None:
    """The job's state in SLURM accounting, or ``None`` without slurmdbd."""
    if shutil.which("sacct") is None:
        return None
    try:
        done = _run("sacct", "-X", "-n", "-P", "-j", job_id, "-o", "State", timeout=20)
    except subprocess.TimeoutExpired:
        return None
    if done.returncode != 0:
        return None  # "Slurm accounting storage is disabled"
    return done.stdout.strip() or None


def all_job_ids() -> set[str]:
    """Every job the controller still knows, finished ones included."""
    return set(_run("squeue", "-h", "-t", "all", "-o", "%i").stdout.split())


# ------------------------------------------------------------------ builds


@dataclass(frozen=True)
class Build:
    code: int
    output: str
    seconds: float

    @property
    def job_ids(self) -> list[str]:
        return SUBMITTED.findall(self.output)


def snakemake(cwd: Path, *args: str, cache: Path) -> Build:
    """``snakemake`` in ``cwd`` under ``timeout -s KILL``, jobs sharing ``cache``."""
    env = {**os.environ, "NBRULES_CACHE": str(cache), "PYTHONUNBUFFERED": "1"}
    env.pop("PYTHONPATH", None)
    start = time.perf_counter()
    done = subprocess.run(
        ["timeout", "-s", "KILL", str(RUN_TIMEOUT), sys.executable, "-m", "snakemake", *args],
        cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        timeout=RUN_TIMEOUT + 30, check=False,
    )
    build = Build(done.returncode, done.stdout, time.perf_counter() - start)
    print(f"snakemake {' '.join(args)}: {len(build.job_ids)} SLURM jobs, "
          f"{build.seconds:.1f} s, exit {build.code}")
    return build


def copy_example(dest: Path) -> Path:
    skip = shutil.ignore_patterns("__pycache__", "results", "logs", ".snakemake")
    for folder in ("workflow", "profiles", "tests/profiles"):
        shutil.copytree(REPO / folder, dest / folder, ignore=skip)
    return dest


@dataclass(frozen=True)
class Example:
    root: Path
    cache: Path
    first: Build

    def rebuild(self) -> Build:
        return snakemake(self.root, "--profile", "tests/profiles/slurm-sample", cache=self.cache)


@pytest.fixture(scope="module")
def example(slurm_cluster: None, tmp_path_factory: pytest.TempPathFactory) -> Example:
    """The example's sample data built through SLURM with tests/profiles/slurm-sample."""
    tmp = tmp_path_factory.mktemp("slurm-example")
    root = copy_example(tmp / "project")
    cache = tmp / "team-cache"
    first = snakemake(root, "--profile", "tests/profiles/slurm-sample", cache=cache)
    assert first.code == 0, first.output[-5000:]
    return Example(root, cache, first)


@pytest.fixture(scope="module")
def local_example(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same sample data built locally (--cores 2), with a cache of its own."""
    tmp = tmp_path_factory.mktemp("local-example")
    root = copy_example(tmp / "project")
    build = snakemake(root, "--profile", "profiles/sample", "--cores", "2",
                      cache=tmp / "cache")
    assert build.code == 0, build.output[-5000:]
    return root / "results" / "sample"


def comparable(path: Path, project: Path, results: str) -> str:
    """A product's content without what legitimately differs between two builds.

    Executed notebooks differ in cell ids, timings and the absolute product paths
    of the injected cell; data products must match byte for byte.
    """
    if path.suffix == ".ipynb":
        nb = json.loads(path.read_text())
        cells = [(c["cell_type"], c["source"],
                  [{k: v for k, v in out.items() if k != "execution_count"}
                   for out in c.get("outputs", [])]) for c in nb["cells"]]
        text = json.dumps(cells, sort_keys=True)
    elif path.suffix == ".html":
        text = re.sub(r"cell-id=[0-9a-f-]+", "cell-id=", path.read_text())
    else:
        return path.read_bytes().hex()
    return text.replace(str(project.resolve()), "<project>").replace(results, "<results>")


# ------------------------------------------------------------------ the example


@slurm
def test_example_runs_as_one_grouped_slurm_job(example: Example) -> None:
    (job_id,) = example.first.job_ids
    assert "group_sample" in example.first.output
    assert job_id in all_job_ids()
    assert job_field(job_id, "JobState") == "COMPLETED"
    assert job_field(job_id, "Partition") == PARTITION
    assert sacct_state(job_id) in (None, "COMPLETED")  # None: no accounting (squeue only)


@slurm
def test_example_products_match_a_local_run(example: Example, local_example: Path) -> None:
    slurm_results = example.root / "results" / "slurm-sample"
    names = sorted(p.relative_to(local_example) for p in local_example.rglob("*") if p.is_file())
    assert names == sorted(p.relative_to(slurm_results)
                           for p in slurm_results.rglob("*") if p.is_file())
    assert len(names) == 22  # 17 products and 5 executed notebooks rendered for the report
    for name in names:
        assert comparable(slurm_results / name, example.root, "results/slurm-sample") == \
            comparable(local_example / name, local_example.parents[1], "results/sample"), name


@slurm
def test_second_submission_of_the_unchanged_pipeline_submits_no_jobs(
    example: Example,
) -> None:
    before = all_job_ids()
    again = example.rebuild()
    assert again.code == 0, again.output[-3000:]
    assert again.job_ids == []
    assert "Nothing to be done" in again.output
    assert all_job_ids() == before


@slurm
def test_comment_edit_rebuild_submits_no_jobs(example: Example) -> None:
    source = example.root / "workflow" / "notebooks" / "clean.py"
    text = source.read_text()
    source.write_text(text.replace("# %%\n", "# %%\n# a comment that changes nothing\n", 1))
    before = all_job_ids()
    again = example.rebuild()
    assert again.code == 0, again.output[-3000:]
    assert again.job_ids == []
    assert all_job_ids() == before


@slurm
def test_a_fresh_checkout_with_the_team_cache_submits_no_jobs(
    example: Example, tmp_path: Path
) -> None:
    """Cache hits are predicted at parse time and restored locally, never submitted."""
    colleague = copy_example(tmp_path / "colleague")
    before = all_job_ids()
    build = snakemake(colleague, "--profile", "tests/profiles/slurm-sample",
                      cache=example.cache)
    assert build.code == 0, build.output[-3000:]
    assert build.job_ids == []
    assert all_job_ids() == before
    assert "localrule get_data:" in build.output
    logs = sorted(log for log in (colleague / "logs" / "slurm-sample").glob("*.log")
                  if not log.name.endswith(".history.log"))
    assert len(logs) == 6
    assert all("cache hit" in log.read_text() for log in logs)
    results = "results/slurm-sample"
    ours = example.root / results
    for path in sorted(p for p in ours.rglob("*") if p.is_file()):
        theirs = colleague / results / path.relative_to(ours)
        assert theirs.read_bytes() == path.read_bytes(), theirs  # restored byte for byte


# ------------------------------------------------------------------ resources, failure


@pytest.fixture(scope="module")
def resources_project(slurm_cluster: None, tmp_path_factory: pytest.TempPathFactory
                      ) -> tuple[Path, Build]:
    """tests/projects/slurm-resources: ``threads`` declares threads/mem/runtime/partition."""
    tmp = tmp_path_factory.mktemp("slurm-resources")
    root = copy_project("slurm-resources", tmp)
    build = snakemake(root, "threads", *CLUSTER, "--configfile", "config.yaml",
                      cache=tmp / "cache")
    assert build.code == 0, build.output[-5000:]
    return root, build


@slurm
def test_resources_declared_in_the_notebook_reach_the_slurm_job(
    resources_project: tuple[Path, Build],
) -> None:
    _, build = resources_project
    (job_id,) = build.job_ids
    # resources = {"threads": 2, "mem_mb": 1100, "runtime": 7, "partition": "debug"}
    assert job_field(job_id, "NumCPUs") == "2"
    assert job_field(job_id, "MinMemoryNode") == "1100M"
    assert job_field(job_id, "TimeLimit") == "00:07:00"
    assert job_field(job_id, "Partition") == "debug"
    assert job_field(job_id, "JobState") == "COMPLETED"


@slurm
def test_the_kernel_in_the_slurm_job_gets_the_declared_threads(
    resources_project: tuple[Path, Build],
) -> None:
    root, build = resources_project
    seen = json.loads((root / "results" / "slurm" / "threads.json").read_text())
    assert seen["SLURM_JOB_ID"] == build.job_ids[0]
    assert seen["SLURM_CPUS_PER_TASK"] == "2"
    assert {seen[name] for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                    "MKL_NUM_THREADS")} == {"2"}


@slurm
def test_a_failing_notebook_fails_its_slurm_job_with_the_py_line(
    resources_project: tuple[Path, Build],
) -> None:
    root, _ = resources_project
    build = snakemake(root, *CLUSTER, "--configfile", "config.yaml", "fail.yaml",
                      cache=root.parent / "cache")
    assert build.code != 0
    (job_id,) = build.job_ids
    assert f"SLURM-job '{job_id}' failed, SLURM status is: 'FAILED'" in build.output
    assert "notebooks/check.py:13: ValueError: check failed on purpose" in build.output
    assert job_field(job_id, "JobState") == "FAILED"
    assert not (root / "results" / "slurm" / "check.ipynb").exists()
    assert (root / "logs" / "slurm" / "check.failed.ipynb").is_file()


# ------------------------------------------------------------------ the production profile


def group_jobs(dry_run: str) -> dict[str, list[str]]:
    """``{group: [rule, ...]}`` from a dry run's ``Group job NAME`` blocks."""
    groups: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in dry_run.splitlines():
        header = re.search(r"Group job (\w+) \(jobs in lexicogr\. order\):$", line)
        if header:
            current = groups.setdefault(header.group(1), [])
        elif line.startswith(("[", "rule ", "localrule ", "Job stats")):
            current = None
        elif current is not None and (rule := re.match(r"\s+rule (\w+):$", line)):
            current.append(rule.group(1))
    return groups


def test_production_profile_groups_small_notebooks_and_reads_all_the_data(
    tmp_path: Path,
) -> None:
    """A dry run: no cluster needed, only the SLURM executor plugin."""
    _need_plugin()
    root = copy_example(tmp_path)
    # Snakemake's own dry-run listing shows the job groups; nbrules' logger lists notebooks.
    config = root / "profiles" / "production" / "config.yaml"
    config.write_text("".join(line for line in config.read_text().splitlines(keepends=True)
                              if not line.startswith("logger:")))
    env = {**os.environ, "NBRULES_CACHE": str(tmp_path / "cache")}
    done = subprocess.run(
        [sys.executable, "-m", "snakemake", "--profile", "profiles/production", "-n", "-p"],
        cwd=root, env=env, capture_output=True, text=True, timeout=300, check=False)
    out = done.stdout + done.stderr
    assert done.returncode == 0, out[-3000:]
    groups = group_jobs(out)
    assert sorted(groups) == ["prep", "report"]
    assert groups == {"prep": ["clean", "features", "get_data"],
                      "report": ["evaluate", "report"]}
    assert "results/production/data/raw/flights.parquet" in out
    spec_files = re.findall(r"nbrules run (\.nbrules/jobs/\S+\.json)", out)
    assert len(spec_files) == 6
    for spec_file in spec_files:
        spec = json.loads((root / spec_file).read_text())
        assert spec["params"].get("sample_frac", 1.0) == 1.0

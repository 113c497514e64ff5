"""Integrity checks on real Snakemake runs with real kernels.

``tests/projects/checks``: ``flights`` writes a Parquet table and declares every kind
of check on it (rows, columns, not_null, unique and a call of ``qa.delays:plausible``
from the project's ``src/``); its parameter ``defect`` plants one problem. ``summary``
reads the table. ``tests/projects/ploomber-hooks``: a ``pipeline.yaml`` task whose
Ploomber ``on_finish`` hook becomes a check.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from conftest import copy_project

pytestmark = pytest.mark.slow

PROJECTS = Path(__file__).resolve().parents[1] / "projects"
SOURCE = "notebooks/flights.py"
FAILURES = {
    "rows": "check 'rows' failed on product 'data': 10 rows, expected at least 100",
    "types": "check 'columns' failed on product 'data': column 'flight' is int32, expected int64",
    "nulls": "check 'not_null' failed on product 'data': column 'carrier' has 2 nulls "
    "(the first in row 7)",
    "duplicates": "check 'unique' failed on product 'data': 1 value repeats in key "
    "(carrier, flight), e.g. carrier='UA', flight=1 (2 rows)",
    "implausible": "check 'qa.delays:plausible' failed on product 'data': AssertionError: "
    "a delay of -999.0 minutes is below -120.0",
}
HINTS = {"implausible": "hint: raised at src/qa/delays.py:13", "nulls": "hint: drop or fill"}


def snakemake(project: Path, *args: str) -> tuple[int, str, list[dict[str, object]]]:
    build_id = f"test-{uuid.uuid4().hex[:8]}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("NBRULES_")}
    env["NBRULES_BUILD_ID"] = build_id
    done = subprocess.run(
        [sys.executable, "-m", "snakemake", "--cores", "1", *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    folder = project / ".nbrules/cache/events" / build_id
    lines = [line for f in sorted(folder.glob("*.jsonl")) for line in f.read_text().splitlines()]
    return done.returncode, done.stdout + done.stderr, [json.loads(line) for line in lines]


def defect(name: str) -> str:
    return f'params={{"defect": "{name}"}}'


def manifests(project: Path) -> list[Path]:
    return sorted((project / ".nbrules/cache/manifests").glob("*.json"))


@pytest.fixture(scope="module")
def passed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    project = copy_project("checks", tmp_path_factory.mktemp("checks"))
    code, output, events = snakemake(project)
    assert code == 0, output
    assert {e["task"] for e in events if e["result"] == "miss"} == {"flights", "summary"}
    return project


def test_passing_checks_publish_the_products(passed: Path) -> None:
    assert (passed / "results/demo/flights.parquet").is_file()
    assert (passed / "results/demo/summary.txt").read_text() == "500 flights\n"
    assert len(manifests(passed)) == 2


@pytest.mark.parametrize("name", sorted(FAILURES))
def test_a_failing_check_fails_the_job_and_publishes_nothing(name: str, tmp_path: Path) -> None:
    project = copy_project("checks", tmp_path)
    code, output, events = snakemake(project, "--config", defect(name))
    assert code != 0
    lines = output.splitlines()
    line = f"nbrules: {SOURCE}: {FAILURES[name]}"
    assert line in lines, output[-3000:]
    following = lines[lines.index(line) + 1]
    assert following.startswith(HINTS.get(name, "hint: ")), following
    assert not [p for p in project.glob("results/**/*") if p.is_file()], "no product stays"
    assert manifests(project) == [], "nothing was cached"
    assert [e["result"] for e in events] == ["error"], "summary never ran"
    assert (project / "logs/demo/flights.failed.ipynb").is_file()
    assert (project / "logs/demo/flights.log").read_text().splitlines()[-2:] == [line, following]


def test_a_failure_after_a_good_build_keeps_the_good_entry_only(
    passed: Path, tmp_path: Path
) -> None:
    project = tmp_path / "copy"
    shutil.copytree(passed, project)
    before = manifests(project)
    code, _, _ = snakemake(project, "--config", defect("nulls"))
    assert code != 0
    assert manifests(project) == before
    assert not (project / "results/demo/flights.parquet").exists()


def test_a_check_module_edit_reruns_the_notebook(passed: Path, tmp_path: Path) -> None:
    project = tmp_path / "copy"
    shutil.copytree(passed, project)
    module = project / "src/qa/delays.py"
    module.write_text(module.read_text().replace("LOWEST = -120.0", "LOWEST = -60.0"))
    code, output, events = snakemake(project)
    assert code == 0, output
    outcome = {e["task"]: e for e in events}
    assert outcome["flights"]["result"] == "miss"
    assert "code changed" in str(outcome["flights"]["reason"])
    assert outcome["summary"]["result"] == "hit", "the same table: early cutoff"


def test_changed_check_settings_rerun_the_notebook(passed: Path, tmp_path: Path) -> None:
    project = tmp_path / "copy"
    shutil.copytree(passed, project)
    source = project / SOURCE
    source.write_text(source.read_text().replace('"rows": [100, 10_000]', '"rows": [400, None]'))
    code, output, events = snakemake(project)
    assert code == 0, output
    outcome = {e["task"]: e for e in events}
    assert outcome["flights"]["result"] == "miss"
    assert "checks changed" in str(outcome["flights"]["reason"])


def nbrules_build(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NBRULES_")}
    return subprocess.run(
        [sys.executable, "-m", "nbrules", "build", *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_ploomber_on_finish_hooks_check_the_task(tmp_path: Path) -> None:
    project = tmp_path / "hooks"
    shutil.copytree(PROJECTS / "ploomber-hooks", project)
    assert nbrules_build(project).returncode == 0
    assert (project / "output/numbers.txt").read_text().split() == ["0", "1", "2", "3", "4"]
    failed = nbrules_build(project, "--env--count", "0")
    assert failed.returncode != 0
    message = (
        "make.py: check 'integration_tests:check_numbers' failed on product 'data': "
        "AssertionError: expected 0 numbers, got 0"
    )
    assert failed.stderr.rstrip().endswith(f"nbrules build: failed: {message}")
    assert "hint: raised at integration_tests.py:7" in failed.stderr
    assert not (project / "output/numbers.txt").exists()

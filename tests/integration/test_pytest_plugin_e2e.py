"""``pytest --nbrules`` in a project made by ``nbrules new``: real pytest, Snakemake, kernels."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from nbrules.cache.admin import build_events
from nbrules.cache.store import Store

REPO = Path(__file__).resolve().parents[2]
BUILD = re.compile(r"nbrules build (pytest-[0-9a-f]+) \(profile (\w+)\)")


def pytest_in(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NBRULES_", "PYTEST_"))}
    env["COLUMNS"] = "250"  # summary lines are cut at the terminal width
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
        cwd=project, env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip


def new_project(tmp_path: Path) -> Path:
    done = subprocess.run(
        [sys.executable, "-m", "nbrules", "new", "proj"], cwd=tmp_path, capture_output=True,
        text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return tmp_path / "proj"


def outcomes(report: Path) -> dict[str, str]:
    """Notebook name → the ``nbrules`` property its test case recorded."""
    found = {}
    for case in ET.parse(report).getroot().iter("testcase"):
        for prop in case.iter("property"):
            if prop.get("name") == "nbrules":
                found[case.get("name", "")] = prop.get("value", "")
    return found


def events(project: Path, output: str) -> list[dict[str, object]]:
    match = BUILD.search(output)
    assert match, output[-2000:]
    return list(build_events(Store.open(project / ".nbrules/cache"), match[1]))


@pytest.mark.slow
def test_one_item_per_notebook_and_unchanged_notebooks_start_no_kernel(tmp_path: Path) -> None:
    project = new_project(tmp_path)
    report = tmp_path / "report.xml"
    first = pytest_in(project, "--nbrules", f"--junitxml={report}")
    assert first.returncode == 0, first.stdout[-3000:]
    assert "4 passed" in first.stdout  # two unit tests, two notebooks
    assert "workflow/notebooks/make-data.py ." in first.stdout
    assert outcomes(report) == {"make-data": "executed", "summarize": "executed"}
    assert sorted(str(e["result"]) for e in events(project, first.stdout)) == ["miss", "miss"]

    again = pytest_in(project, "--nbrules", f"--junitxml={report}")
    assert again.returncode == 0, again.stdout[-3000:]
    assert outcomes(report) == {"make-data": "up to date", "summarize": "up to date"}
    assert events(project, again.stdout) == []  # Snakemake scheduled nothing: no job, no kernel

    for product in (project / "results").rglob("*"):
        if product.is_file():
            product.unlink()
    restored = pytest_in(project, "--nbrules", f"--junitxml={report}")
    assert restored.returncode == 0, restored.stdout[-3000:]
    assert outcomes(report) == {"make-data": "restored", "summarize": "restored"}
    assert sorted(str(e["result"]) for e in events(project, restored.stdout)) == ["hit", "hit"]
    assert "make-data: restored (nbrules: make-data: cache hit" in restored.stdout


@pytest.mark.slow
def test_a_failing_notebook_fails_at_its_line_and_its_downstream_is_skipped(
    tmp_path: Path,
) -> None:
    project = new_project(tmp_path)
    source = project / "workflow/notebooks/make-data.py"
    text = source.read_text()
    source.write_text(
        text.replace("rng = random.Random(seed)\n", "rng = random.Random(seed)\nrng.fail()\n")
    )
    line = source.read_text().splitlines().index("rng.fail()") + 1
    done = pytest_in(project, "--nbrules", "-ra")
    assert done.returncode == 1
    where = f"workflow/notebooks/make-data.py:{line}: AttributeError"
    assert f"FAILED workflow/notebooks/make-data.py::make-data - {where}" in done.stdout
    assert (
        "SKIPPED [1] workflow/notebooks/summarize.py:1: not run: upstream 'make-data'"
        in done.stdout
    )
    assert "1 failed, 2 passed, 1 skipped" in done.stdout


@pytest.mark.slow
def test_the_profile_option_picks_the_build(tmp_path: Path) -> None:
    project = new_project(tmp_path)
    done = pytest_in(project, "--nbrules", "--nbrules-profile", "dev", "-k", "make")
    assert done.returncode == 0, done.stdout[-3000:]
    assert BUILD.search(done.stdout)[2] == "dev"  # type: ignore[index]
    assert (project / "results/dev/data/numbers.json").is_file()


def test_a_broken_project_is_one_failing_item_with_the_located_error(tmp_path: Path) -> None:
    project = new_project(tmp_path)
    data = project / "profiles/sample/data.yaml"
    data.write_text(data.read_text() + "tasks:\n  make-dta: {}\n")
    done = pytest_in(project, "--nbrules", "-k", "nbrules")
    assert done.returncode == 1
    assert "profiles/sample/data.yaml:5: config key 'tasks' names unknown notebook 'make-dta'" in (
        done.stdout
    )
    assert "hint: did you mean 'make-data'?" in done.stdout
    assert "FAILED profiles/sample/data.yaml::nbrules-project" in done.stdout


def without_timing(output: str) -> str:
    return re.sub(r" in [0-9.]+s", "", output)


def test_without_the_flag_the_plugin_changes_nothing(tmp_path: Path) -> None:
    project = new_project(tmp_path)
    for folder in (project, REPO):
        target = ["tests/unit"] if folder == REPO else []
        plain = pytest_in(folder, "--collect-only", "-q", "-p", "no:nbrules", *target)
        loaded = pytest_in(folder, "--collect-only", "-q", *target)
        assert loaded.returncode == plain.returncode == 0, loaded.stdout[-2000:]
        assert without_timing(loaded.stdout) == without_timing(plain.stdout)
    with_flag = pytest_in(project, "--collect-only", "-q", "--nbrules")
    assert "workflow/notebooks/summarize.py::summarize" in with_flag.stdout


def test_loading_the_plugin_imports_nothing_heavy() -> None:
    code = (
        "import sys, nbrules.pytest_plugin; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('snakemake', 'jupytext', 'nbformat', 'yaml', 'jupyter_server') "
        "or m.startswith('nbrules.')))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert (
        done.stdout.strip()
        == "['nbrules.common', 'nbrules.common.errors', 'nbrules.pytest_plugin']"
    )

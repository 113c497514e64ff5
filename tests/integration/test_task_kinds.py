"""`nbrules build` on Ploomber projects with tasks that are not ``.py`` notebooks:
Python functions, ``.ipynb`` notebooks, shell scripts; real Snakemake, real cache.

Every fixture task appends its name to ``kernel-runs.txt`` when it executes (outside
every product, so a restore never replays it): its new lines after a build are
exactly the tasks that build executed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from projectlib import IGNORE, PROJECTS, copy, executed, nbrules_build

pytestmark = pytest.mark.slow


def kernels(project: Path) -> list[str]:
    return executed(project)


def snapshot(project: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((project / "output").iterdir())}


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new))


def test_python_function_tasks_build_rebuild_and_restore(tmp_path: Path) -> None:
    project = copy("ploomber-functions", tmp_path)
    assert kernels(project) == ["clean", "get", "report"]
    assert (project / "output" / "raw.csv").read_text().split() == ["0", "1", "2", "3"]
    assert json.loads((project / "output" / "summary.json").read_text()) == {"total": 60}
    assert {p.name for p in (project / "output").iterdir()} == {
        "raw.csv", "clean.csv", "summary.json", "report.ipynb"}
    first = snapshot(project)

    done = nbrules_build(project)
    assert "Nothing to be done" in done.stderr, done.stderr[-3000:]

    tasks = project / "tasks.py"
    original = tasks.read_text()
    edit(tasks, "def clean(product, upstream):", "# a comment\ndef clean(  product, upstream ):")
    assert kernels(project) == []  # comments and formatting are not code

    edit(tasks, "n * 10}", "n * 100}")
    assert kernels(project) == ["clean", "get", "report"]  # the module is the code
    assert (project / "output" / "clean.csv").read_text().split()[-1] == "300"

    tasks.write_text(original)
    assert kernels(project) == []
    assert snapshot(project) == first

    edit(project / "pipeline.yaml", "count: 4", "count: 2")
    assert kernels(project) == ["clean", "get", "report"]
    assert (project / "output" / "raw.csv").read_text().split() == ["0", "1"]


def test_a_failing_function_fails_the_build_at_its_line(tmp_path: Path) -> None:
    project = copy("ploomber-functions", tmp_path)
    edit(project / "tasks.py", '    log_run("clean")\n', '    log_run("clean")\n    1 / 0\n')
    done = nbrules_build(project)
    assert done.returncode != 0
    assert "tasks.py:16: ZeroDivisionError: division by zero" in done.stderr, done.stderr[-3000:]
    assert not (project / "output" / "clean.csv").exists()


def test_ipynb_sources_ignore_outputs_and_metadata(tmp_path: Path) -> None:
    project = copy("ploomber-ipynb", tmp_path)
    assert kernels(project) == ["double", "get", "report"]
    assert (project / "output" / "doubled.txt").read_text().split() == ["0", "2", "4"]
    executed = nbformat.read(project / "output" / "get.ipynb", as_version=4)
    assert executed.cells[-1].outputs[0]["data"]["text/plain"] == "3"  # count: 3, not 2
    first = snapshot(project)

    source = project / "get.ipynb"
    original = source.read_text()
    nb = nbformat.read(source, as_version=4)
    nb.cells[-1].outputs = []
    nb.cells[-1].execution_count = 42
    nb.metadata["widgets"] = {"state": {}}
    nbformat.write(nb, source)
    done = nbrules_build(project)
    assert "Nothing to be done" in done.stderr, done.stderr[-3000:]

    nb.cells[-1].source = nb.cells[-1].source.replace("range(count)", "range(count + 1)")
    nbformat.write(nb, source)
    assert kernels(project) == ["double", "get", "report"]
    assert (project / "output" / "doubled.txt").read_text().split() == ["0", "2", "4", "6"]

    source.write_text(original)
    assert kernels(project) == []
    assert snapshot(project) == first


def test_a_shell_script_between_notebooks_is_rendered_and_cached(tmp_path: Path) -> None:
    project = copy("ploomber-shell", tmp_path)
    assert kernels(project) == ["get", "report", "sort"]
    assert (project / "output" / "sorted.txt").read_text().split() == ["1", "2", "3"]
    assert (project / "output" / "lines.txt").read_text().strip() == "3"
    first = snapshot(project)

    done = nbrules_build(project)
    assert "Nothing to be done" in done.stderr, done.stderr[-3000:]

    script = project / "sort.sh"
    original = script.read_text()
    script.write_text(original + "# a comment changes a script's text\n")
    assert kernels(project) == ["sort"]  # same products: the report is restored

    edit(project / "pipeline.yaml", "order: -n", "order: -rn")
    assert kernels(project) == ["report", "sort"]
    assert (project / "output" / "sorted.txt").read_text().split() == ["3", "2", "1"]

    script.write_text(original)
    edit(project / "pipeline.yaml", "order: -rn", "order: -n")
    assert kernels(project) == []
    assert snapshot(project) == first


def snakemake_runs(project: Path) -> tuple[list[str], str]:
    """Run Snakemake on a Snakefile project: the tasks that executed, and its stderr."""
    runs = project / "task-runs.txt"
    seen = runs.read_text().splitlines() if runs.exists() else []
    done = subprocess.run([sys.executable, "-m", "snakemake", "--cores", "1"], cwd=project,
                          env={k: v for k, v in os.environ.items() if k != "NBRULES_CACHE"},
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-5000:]
    now = runs.read_text().splitlines() if runs.exists() else []
    return sorted(now[len(seen):]), done.stderr


def test_task_decorated_functions_and_an_ipynb_in_a_snakefile_project(tmp_path: Path) -> None:
    project = tmp_path / "snakefile-functions"
    shutil.copytree(PROJECTS / "snakefile-functions", project, ignore=IGNORE)
    assert snakemake_runs(project)[0] == ["clean", "get", "report"]
    results = project / "results"
    assert (results / "raw.txt").read_text().split() == ["0", "1", "2", "3"]
    assert (results / "total.txt").read_text() == "60\n"  # factor: 10 from config.yaml
    first = {p.name: p.read_bytes() for p in results.iterdir()}

    report = project / "notebooks" / "report.ipynb"
    nb = nbformat.read(report, as_version=4)
    nb.cells[-1].outputs = []
    nbformat.write(nb, report)
    runs, stderr = snakemake_runs(project)
    assert runs == [] and "Nothing to be done" in stderr, stderr[-3000:]

    tasks = project / "notebooks" / "tasks.py"
    original = tasks.read_text()
    edit(tasks, "int(x) * factor", "int(x) * factor * 2")
    assert snakemake_runs(project)[0] == ["clean", "get", "report"]
    assert (results / "total.txt").read_text() == "120\n"

    tasks.write_text(original)
    assert snakemake_runs(project)[0] == []
    assert {p.name: p.read_bytes() for p in results.iterdir()} == first


def test_inject_skips_ipynb_sources_and_resolves_function_upstreams(tmp_path: Path) -> None:
    project = tmp_path / "snakefile-functions"
    shutil.copytree(PROJECTS / "snakefile-functions", project, ignore=IGNORE)
    (project / "profiles" / "sample").mkdir(parents=True)
    (project / "profiles" / "sample" / "config.yaml").write_text("configfile: config.yaml\n")
    before = (project / "notebooks" / "report.ipynb").read_bytes()

    def inject(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "nbrules", "inject", *args], cwd=project,
                              capture_output=True, text=True, timeout=120, check=False)

    done = inject()
    assert done.returncode == 0, done.stderr
    assert "skipped notebooks/report.ipynb" in done.stdout
    named = inject("notebooks/report.ipynb")
    assert named.returncode != 0
    assert "nbrules inject writes into jupytext scripts, not .ipynb files" in named.stderr
    assert (project / "notebooks" / "report.ipynb").read_bytes() == before

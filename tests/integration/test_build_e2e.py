"""`nbrules build` on Ploomber projects, for real: Snakemake, kernels, the cache.

Every fixture notebook appends its name to ``kernel-runs.txt`` in the project folder
(outside every product, so a cache restore never replays it): its new lines after a
build are exactly the kernels that build started.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import nbformat
import projectlib
import pytest
from projectlib import PROJECTS, copy

MARK = "from-the-build-environment"
BASIC_OUTPUTS = {"cube.ipynb", "cubes.txt", "get.ipynb", "info.json", "numbers.txt",
                 "report.html", "squares.ipynb", "squares.txt"}


def nbrules_build(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return projectlib.nbrules_build(project, *args, env={"NBRULES_FIXTURE_MARK": MARK})


def kernels(project: Path, *args: str) -> list[str]:
    """Build; the notebooks whose kernel ran (sorted). Fails on a failed build."""
    runs = project / "kernel-runs.txt"
    seen = runs.read_text().splitlines() if runs.exists() else []
    done = nbrules_build(project, *args)
    assert done.returncode == 0, done.stderr[-5000:]
    now = runs.read_text().splitlines() if runs.exists() else []
    return sorted(now[len(seen):])


def snapshot(project: Path, folder: str = "output") -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((project / folder).iterdir())}


@pytest.fixture(scope="module")
def basic(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    project = copy("ploomber-basic", tmp_path_factory.mktemp("build"))
    assert kernels(project, "--cores", "2") == ["cube", "get", "report", "squares"]
    yield project


@pytest.mark.slow
def test_products_land_where_ploomber_build_puts_them(basic: Path) -> None:
    assert {p.name for p in (basic / "output").iterdir()} == BASIC_OUTPUTS
    made = {p.name for p in basic.iterdir()} - {p.name for p in (PROJECTS / "ploomber-basic")
                                                 .iterdir()}
    assert made == {"output", "kernel-runs.txt", ".snakemake", ".nbrules"}
    assert (basic / ".nbrules" / "logs" / "get.log").is_file()


@pytest.mark.slow
def test_env_placeholders_are_injected_with_their_yaml_types(basic: Path) -> None:
    info = json.loads((basic / "output" / "info.json").read_text())
    assert (info["count"], info["sample"], info["tag"]) == (4, False, "sample=False")
    assert info["types"] == ["int", "bool", "str"]
    assert (basic / "output" / "numbers.txt").read_text().split() == ["0", "1", "2", "3"]


@pytest.mark.slow
def test_kernels_run_in_the_project_folder_with_the_build_environment(basic: Path) -> None:
    info = json.loads((basic / "output" / "info.json").read_text())
    assert Path(info["cwd"]) == basic.resolve()
    assert info["env"] == MARK
    assert info["product"] == {k: str((basic / "output" / v).resolve()) for k, v in
                               {"nb": "get.ipynb", "data": "numbers.txt",
                                "info": "info.json"}.items()}


@pytest.mark.slow
def test_a_named_light_format_task_at_the_root_reads_its_upstream(basic: Path) -> None:
    assert (basic / "output" / "squares.txt").read_text().split() == ["0", "1", "4", "9"]
    executed = nbformat.read(basic / "output" / "squares.ipynb", as_version=4)
    assert all(c.execution_count for c in executed.cells if c.cell_type == "code")


@pytest.mark.slow
def test_a_stale_injected_cell_is_replaced_never_kept(basic: Path) -> None:
    assert (basic / "output" / "cubes.txt").read_text().split() == ["0", "1", "8", "27"]
    executed = nbformat.read(basic / "output" / "cube.ipynb", as_version=4)
    injected = [c for c in executed.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert len(injected) == 1
    assert "/nonexistent" not in injected[0].source and "power = 3" in injected[0].source


@pytest.mark.slow
def test_an_html_notebook_embeds_figures_after_a_fan_in_of_three(basic: Path) -> None:
    html = (basic / "output" / "report.html").read_text()
    assert "TOTALS numbers=6 squares=14 cubes=36" in html
    assert "data:image/png;base64," in html


@pytest.mark.slow
def test_rebuilds_run_exactly_the_tasks_whose_code_or_params_changed(tmp_path: Path) -> None:
    project = copy("ploomber-basic", tmp_path)
    assert len(kernels(project, "--cores", "2")) == 4
    first = snapshot(project)

    done = nbrules_build(project, "--cores", "2")
    assert "Nothing to be done" in done.stderr, done.stderr[-3000:]
    assert kernels(project, "--cores", "2") == []

    for name in ("scripts/get.py", "square.py", "pipeline.yaml", "env.yaml"):
        path = project / name
        path.write_text("# a comment-only edit\n" + path.read_text().replace(
            "\n\n", "\n\n# another comment\n\n", 1))
    assert kernels(project, "--cores", "2") == []

    spec = project / "pipeline.yaml"
    spec.write_text(spec.read_text().replace("power: 3", "power: 4"))
    assert kernels(project, "--cores", "2") == ["cube", "report"]
    assert (project / "output" / "cubes.txt").read_text().split()[-1] == "81"

    spec.write_text(spec.read_text().replace("power: 4", "power: 3"))
    assert kernels(project, "--cores", "2") == []
    assert snapshot(project) == first

    env = project / "env.yaml"
    env.write_text(env.read_text().replace("count: 4", "count: 5"))
    assert kernels(project, "--cores", "2") == ["cube", "get", "report", "squares"]
    env.write_text(env.read_text().replace("count: 5", "count: 4"))
    assert kernels(project, "--cores", "2") == []
    assert snapshot(project) == first


@pytest.mark.slow
def test_a_profile_overrides_env_keys_and_switching_back_starts_no_kernel(
    tmp_path: Path,
) -> None:
    project = copy("ploomber-basic", tmp_path)
    assert len(kernels(project, "--profile", "sample")) == 4  # profiles/sample: cores 2
    assert (project / "output" / "numbers.txt").read_text().split() == ["0", "1"]
    assert len(kernels(project, "--cores", "2")) == 4
    assert kernels(project, "--profile", "sample") == []
    assert (project / "output" / "numbers.txt").read_text().split() == ["0", "1"]


@pytest.mark.slow
def test_a_grid_a_wildcard_fan_in_and_imported_tasks(tmp_path: Path) -> None:
    project = copy("ploomber-grid", tmp_path)
    done = nbrules_build(project)  # executor: parallel -> --cores all
    assert done.returncode == 0, done.stderr[-5000:]
    assert {p.name for p in (project / "products").iterdir()} == {
        "make.ipynb", "data.json", "compare.ipynb", "best.json",
        *(f"fit-{i}.ipynb" for i in range(4)),
        "model-add-0.json", "model-add-1.json", "model-mul-2.json", "model-mul-3.json"}
    best = json.loads((project / "products" / "best.json").read_text())
    assert best == {"label": "best", "best": "fit-3",
                    "scores": {"fit-0": 22, "fit-1": 25, "fit-2": 22, "fit-3": 28}}
    assert done.stderr.count("warning: 'static_analysis' is ignored") == 1
    assert done.stderr.count("warning: 'papermill_params' is ignored") == 1
    assert "'executor' is ignored" not in done.stderr

    env = project / "env.yaml"
    env.write_text(env.read_text().replace("offset: 10", "offset: 20"))
    assert kernels(project) == ["compare", "fit add 2", "fit add 3", "fit mul 2", "fit mul 3"]


@pytest.mark.slow
def test_a_failing_task_fails_the_build_with_its_py_line(tmp_path: Path) -> None:
    project = copy("ploomber-basic", tmp_path)
    source = project / "square.py"
    lines = source.read_text().splitlines()
    at = lines.index("with open(upstream[\"get\"][\"data\"]) as handle:")
    lines.insert(at, "raise ValueError('broken on purpose')")
    source.write_text("\n".join(lines) + "\n")
    done = nbrules_build(project, "--cores", "2", "squares")
    assert done.returncode != 0
    assert f"square.py:{at + 1}: ValueError: broken on purpose" in done.stderr
    assert done.stderr.rstrip().endswith(
        f"nbrules build: failed: square.py:{at + 1}: ValueError: broken on purpose")
    assert not (project / "output" / "squares.txt").exists()


@pytest.mark.slow
def test_without_pipeline_yaml_build_discovers_native_notebooks(tmp_path: Path) -> None:
    project = copy("chain", tmp_path)
    (project / "Snakefile").unlink()  # nbrules build needs none
    done = nbrules_build(project, "--cores", "2")
    assert done.returncode == 0, done.stderr[-5000:]
    assert (project / "results" / "total.ipynb").is_file()
    assert (project / "results" / "squares.txt").read_text().split()[:3] == ["0", "1", "4"]


@pytest.mark.parametrize(("old", "new", "message"), [
    ("    params:\n      count", "    parms:\n      count",
     "pipeline.yaml:9: unknown task key 'parms'\nhint: did you mean 'params'?"),
    ("'{{count}}'", "'{{cuont}}'",
     "pipeline.yaml:10: undefined placeholder '{{cuont}}'\nhint: did you mean 'count'?"),
    ("  - source: report.py", "  - source: tasks.report\n    product: output/x.csv\n"
     "  - source: report.py", "pipeline.yaml:30: task 'tasks.report': cannot find module 'tasks'"),
])
def test_spec_errors_stop_the_build_before_snakemake(
    tmp_path: Path, old: str, new: str, message: str,
) -> None:
    project = copy("ploomber-basic", tmp_path)
    spec = project / "pipeline.yaml"
    assert old in spec.read_text()
    spec.write_text(spec.read_text().replace(old, new))
    done = nbrules_build(project, "--cores", "2")
    assert done.returncode == 1
    assert message in done.stderr
    assert not (project / ".snakemake").exists()


def test_dry_run_lists_the_jobs_and_runs_none(tmp_path: Path) -> None:
    project = copy("ploomber-grid", tmp_path)
    done = nbrules_build(project, "-n", "compare")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "rule compare:" in done.stdout + done.stderr
    assert not (project / "products").exists()

"""``nbrules new DIR``: the created project installs, builds and tests, for real."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml
from conftest import throwaway_venv

from nbrules.cli.new import package_name

REPO = Path(__file__).resolve().parents[2]
LAYOUT = {
    "workflow/Snakefile",
    "workflow/config.yaml",
    "workflow/notebooks/make-data.py",
    "workflow/notebooks/summarize.py",
    "workflow/src/my_flights/__init__.py",
    "workflow/src/my_flights/stats.py",
    "tests/test_stats.py",
    "profiles/sample/config.yaml",
    "profiles/sample/data.yaml",
    "profiles/dev/config.yaml",
    "profiles/dev/data.yaml",
    "profiles/production/config.yaml",
    "profiles/production/data.yaml",
    "pyproject.toml",
    "README.md",
    ".gitignore",
    ".pre-commit-config.yaml",
    ".github/workflows/pipeline.yml",
}


def run(command: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command,
        cwd=cwd,
        env={**{k: v for k, v in os.environ.items() if not k.startswith("NBRULES_")}, **env},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def new(tmp_path: Path, name: str = "my-flights", *args: str) -> Path:
    done = run([sys.executable, "-m", "nbrules", "new", name, *args], tmp_path)
    assert done.returncode == 0, done.stderr
    return tmp_path / name


def test_new_creates_the_recommended_layout(tmp_path: Path) -> None:
    project = new(tmp_path)
    files = {str(p.relative_to(project)) for p in project.rglob("*") if p.is_file()}
    assert files == LAYOUT
    ignored = (project / ".gitignore").read_text().split()
    assert {"results/", "logs/", ".snakemake/", ".nbrules/"} <= set(ignored)
    (hook,) = yaml.safe_load((project / ".pre-commit-config.yaml").read_text())["repos"][0]["hooks"]
    assert (hook["id"], hook["entry"]) == ("nbrules-strip", "nbrules strip --check")
    ci = yaml.safe_load((project / ".github/workflows/pipeline.yml").read_text())
    steps = [step.get("run", "") for step in ci["jobs"]["sample"]["steps"]]
    assert "snakemake --profile profiles/sample" in steps
    summarize = (project / "workflow/notebooks/summarize.py").read_text()
    assert "from my_flights.stats import summarize" in summarize
    assert 'upstream = ["make-data"]' in summarize


def test_new_refuses_a_folder_that_is_not_empty_and_bad_package_names(tmp_path: Path) -> None:
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "notes.txt").write_text("mine")
    done = run([sys.executable, "-m", "nbrules", "new", "taken"], tmp_path)
    assert done.returncode == 1
    assert done.stderr.startswith("taken: already exists and is not an empty folder")
    assert (tmp_path / "taken" / "notes.txt").read_text() == "mine"
    bad = run([sys.executable, "-m", "nbrules", "new", "x", "--package", "class"], tmp_path)
    assert bad.returncode == 1
    assert "'class' is not a valid Python package name" in bad.stderr


def test_package_names_come_from_the_folder_name() -> None:
    assert package_name("my-flights") == "my_flights"
    assert package_name("2024 Study") == "pipeline_2024_study"
    assert package_name("import") == "pipeline_import"


@pytest.mark.slow
def test_new_project_installs_builds_and_passes_its_tests(tmp_path: Path) -> None:
    project = new(tmp_path)
    python = throwaway_venv(tmp_path / "venv")
    install = run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--no-deps",
            "--no-build-isolation",
            "-e",
            str(project),
        ],
        tmp_path,
    )
    assert install.returncode == 0, install.stdout + install.stderr
    build = run([str(python), "-m", "snakemake", "--profile", "profiles/sample"], project)
    assert build.returncode == 0, build.stderr[-3000:]
    summary = yaml.safe_load((project / "results/sample/summary.json").read_text())
    assert summary["count"] == 100
    tests = run([str(python), "-m", "pytest"], project)
    assert tests.returncode == 0, tests.stdout[-3000:]
    assert "2 passed" in tests.stdout
    imported = run(
        [str(python), "-c", "import my_flights, sys; print(my_flights.__file__)"], tmp_path
    )
    assert imported.stdout.strip() == str(project / "workflow/src/my_flights/__init__.py")


@pytest.mark.slow
def test_new_projects_pre_commit_hook_refuses_an_injected_cell(tmp_path: Path) -> None:
    project = new(tmp_path)
    home = str(tmp_path / "pre-commit-home")
    bin_path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    assert run(["pre-commit", "validate-config"], project, PATH=bin_path).returncode == 0
    for command in (["git", "init", "-q"], ["git", "add", "-A"]):
        assert run(command, project).returncode == 0
    hook = ["pre-commit", "run", "--all-files"]
    clean = run(hook, project, PATH=bin_path, PRE_COMMIT_HOME=home)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    injected = run([sys.executable, "-m", "nbrules", "inject"], project)
    assert injected.returncode == 0, injected.stderr
    run(["git", "add", "-A"], project)
    refused = run(hook, project, PATH=bin_path, PRE_COMMIT_HOME=home)
    assert refused.returncode == 1
    assert "workflow/notebooks/make-data.py: holds an 'injected-parameters' cell" in refused.stdout


@pytest.mark.slow
def test_the_wheel_ships_the_project_templates(tmp_path: Path) -> None:
    built = run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
         "-w", str(tmp_path), str(REPO)],
        tmp_path,
    )  # fmt: skip
    assert built.returncode == 0, built.stdout + built.stderr
    (wheel,) = tmp_path.glob("nbrules-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = {
        str(path.relative_to(REPO)) for path in (REPO / "nbrules/templates/project").rglob("*.tmpl")
    }
    assert len(shipped) == len(LAYOUT)
    assert shipped <= names
    assert any(n.endswith("etc/jupyter/jupyter_server_config.d/nbrules.json") for n in names)

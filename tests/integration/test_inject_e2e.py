"""``nbrules inject`` / ``nbrules strip`` on the example and fixture projects, for real.

The commands run as subprocesses in a copy of the project; builds are real Snakemake
runs; the injected notebooks run as plain ``python`` scripts.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import jupytext
import pytest
import yaml
from conftest import copy_project, run_snakemake

from nbrules.common.notebooks import INJECTED_TAG
from nbrules.plan.inject import injected_source
from nbrules.plan.report import RENDERED
from nbrules.snakemake.project import read_project
from nbrules.snakemake.rules import rules_from_config

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = ("get-data", "clean", "features", "fit-model", "evaluate", "report")
CACHE_LINE = re.compile(r"nbrules: (\S+): cache (hit|miss) ([0-9a-f]{12})")


#: Products the job writes around the notebook, not the notebook's code itself.
JOB_WRITES = ("nb", RENDERED)

def copy_example(dest: Path) -> Path:
    for folder in ("workflow", "profiles"):
        shutil.copytree(REPO / folder, dest / folder, ignore=shutil.ignore_patterns("__pycache__"))
    return dest


def nbrules(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "nbrules", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def sources(project: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((project / "workflow/notebooks").glob("*.py"))}


def injected_cell(path: Path) -> str:
    nb = jupytext.reads(path.read_text(encoding="utf-8"), "py")
    tags = [cell.metadata.get("tags", []) for cell in nb.cells]
    at = next(i for i, t in enumerate(tags) if "parameters" in t)
    assert tags[at + 1] == [INJECTED_TAG], f"{path}: no injected cell after parameters"
    assert sum(INJECTED_TAG in t for t in tags) == 1
    return str(nb.cells[at + 1].source)


def test_inject_writes_exactly_the_cell_the_pipeline_injects(tmp_path: Path) -> None:
    project = copy_example(tmp_path)
    done = nbrules(project, "inject", "--profile", "dev")
    assert done.returncode == 0, done.stderr
    config = read_project(project, "dev")
    _, specs = rules_from_config(config.config, config.basedir, files=config.files, cwd=project)
    assert [spec.task for spec in specs] == list(NOTEBOOKS)
    for spec in specs:
        cell = injected_cell(project / spec.job.source)
        heading, _, code = cell.partition("\n")
        assert heading.startswith("# Parameters injected by nbrules for profile 'dev'")
        assert code == injected_source(spec.job, project).partition("\n")[2]
    assert "results/dev/data/clean.parquet" in injected_cell(
        project / "workflow/notebooks/clean.py"
    )


def test_inject_then_strip_restores_every_example_notebook_byte_for_byte(tmp_path: Path) -> None:
    project = copy_example(tmp_path)
    notebooks = project / "workflow/notebooks"
    # Two spellings the example lacks: CRLF line endings and no final newline.
    crlf = notebooks / "clean.py"
    crlf.write_bytes(crlf.read_bytes().replace(b"\n", b"\r\n"))
    bare = notebooks / "features.py"
    bare.write_bytes(bare.read_bytes().rstrip(b"\n"))
    before = sources(project)
    assert nbrules(project, "inject").returncode == 0
    once = sources(project)
    assert all(once[name] != before[name] for name in before)
    assert b"\n" not in once["clean.py"].replace(b"\r\n", b"")
    assert nbrules(project, "inject").returncode == 0
    assert sources(project) == once  # injecting twice replaces, never duplicates
    stripped = nbrules(project, "strip")
    assert stripped.returncode == 0, stripped.stderr
    assert sources(project) == before
    assert stripped.stdout.count("stripped ") == len(before)


def test_inject_one_notebook_by_path_and_refuse_a_non_notebook(tmp_path: Path) -> None:
    project = copy_example(tmp_path)
    done = nbrules(project, "inject", "workflow/notebooks/clean.py")
    assert done.stdout == "injected workflow/notebooks/clean.py (profile sample)\n"
    assert (project / "results/sample/data").is_dir()  # product folders, as a build makes
    refused = nbrules(project, "inject", "workflow/src/flights/io.py")
    assert refused.returncode == 1
    assert refused.stderr.startswith("workflow/src/flights/io.py: not a notebook of this pipeline")
    unknown = nbrules(project, "inject", "--profile", "smaple")
    assert unknown.returncode == 1
    assert "no profile 'smaple'" in unknown.stderr
    assert "hint: did you mean 'sample'?" in unknown.stderr


def test_strip_check_lists_the_files_holding_a_cell_and_exits_1(tmp_path: Path) -> None:
    project = copy_example(tmp_path)
    assert nbrules(project, "strip", "--check").returncode == 0
    nbrules(project, "inject", "workflow/notebooks/clean.py", "workflow/notebooks/report.py")
    check = nbrules(project, "strip", "--check")
    assert check.returncode == 1
    assert check.stderr.splitlines() == [
        f"workflow/notebooks/clean.py: holds an '{INJECTED_TAG}' cell",
        f"workflow/notebooks/report.py: holds an '{INJECTED_TAG}' cell",
        "hint: run `nbrules strip` to remove it",
    ]
    assert check.stdout == ""
    assert INJECTED_TAG in (project / "workflow/notebooks/clean.py").read_text()  # unchanged


def test_pre_commit_hook_definition_is_valid_and_its_entry_fails_on_injected_files(
    tmp_path: Path,
) -> None:
    manifest = REPO / ".pre-commit-hooks.yaml"
    valid = subprocess.run(
        [sys.executable, "-m", "pre_commit", "validate-manifest", str(manifest)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert valid.returncode == 0, valid.stdout + valid.stderr
    (hook,) = yaml.safe_load(manifest.read_text())
    assert hook["id"] == "nbrules-strip"
    project = copy_example(tmp_path)
    nbrules(project, "inject", "workflow/notebooks/clean.py")
    files = ["workflow/notebooks/clean.py", "workflow/notebooks/get-data.py"]
    entry = [*hook["entry"].split(), *files]  # pre-commit appends the staged file names
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    failed = subprocess.run(entry, cwd=project, capture_output=True, text=True, env=env)
    assert failed.returncode == 1
    assert "workflow/notebooks/clean.py: holds" in failed.stderr
    assert "get-data.py" not in failed.stderr
    nbrules(project, "strip")
    passed = subprocess.run(entry, cwd=project, capture_output=True, text=True, env=env)
    assert passed.returncode == 0, passed.stderr


@pytest.mark.slow
def test_source_holding_an_injected_cell_builds_with_the_same_cache_key(tmp_path: Path) -> None:
    project = copy_project("chain", tmp_path)
    (project / "profiles/demo").mkdir(parents=True)
    shutil.copy(project / "config.yaml", project / "profiles/demo/data.yaml")
    (project / "profiles/demo/config.yaml").write_text("configfile: data.yaml\n")
    code, output = run_snakemake(project, "--profile", "profiles/demo")
    assert code == 0, output
    keys = {m[1]: m[3] for m in CACHE_LINE.finditer(output)}
    assert set(keys) == {"make-numbers", "square", "total"}
    assert nbrules(project, "inject", "--profile", "demo").returncode == 0
    assert all(INJECTED_TAG in p.read_text() for p in (project / "notebooks").glob("*.py"))
    code, output = run_snakemake(project, "--profile", "profiles/demo")
    assert code == 0, output
    assert "Nothing to be done" in output  # same code digest: no rule's params changed
    shutil.rmtree(project / "results")
    code, output = run_snakemake(project, "--profile", "profiles/demo")
    assert code == 0, output
    rebuilt = {m[1]: (m[2], m[3]) for m in CACHE_LINE.finditer(output)}
    assert rebuilt == {name: ("hit", key) for name, key in keys.items()}


@pytest.mark.slow
def test_injected_example_notebooks_run_as_plain_scripts_and_write_the_pipelines_products(
    tmp_path: Path,
) -> None:
    project = copy_example(tmp_path)
    build = subprocess.run(
        [sys.executable, "-m", "snakemake", "--profile", "profiles/sample"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert build.returncode == 0, build.stderr[-3000:]
    config = read_project(project, "sample")
    _, specs = rules_from_config(config.config, config.basedir, files=config.files, cwd=project)
    data = {
        path: (project / path).read_bytes()
        for spec in specs
        for key, path in spec.job.products.items()
        if key not in JOB_WRITES
    }
    assert nbrules(project, "inject").returncode == 0
    env = {**os.environ, "PYTHONPATH": str(project / "workflow/src"), "MPLBACKEND": "Agg"}
    for spec in specs:
        for key, path in spec.job.products.items():
            if key not in JOB_WRITES:
                (project / path).unlink()
        script = subprocess.run(
            [sys.executable, spec.job.source],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert script.returncode == 0, f"{spec.task}: {script.stderr[-3000:]}"
    for path, content in data.items():
        if path.endswith((".parquet", ".json")):  # deterministic writers
            assert (project / path).read_bytes() == content, path
        else:
            assert (project / path).stat().st_size > 0, path

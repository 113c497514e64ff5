"""The command line explains itself: --version, --help, build --help."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest


def nbrules(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "nbrules", *args], capture_output=True,
                          text=True, timeout=60, check=False)


def test_version_is_the_installed_one() -> None:
    done = nbrules("--version")
    assert done.returncode == 0
    assert done.stdout.strip() == f"nbrules {version('nbrules')}"


def test_help_says_what_nbrules_is_and_lists_the_commands() -> None:
    done = nbrules("--help")
    assert done.returncode == 0
    assert "Jupytext notebooks as Snakemake rules" in done.stdout
    for command in ("build", "status", "inject", "strip", "new", "cache"):
        assert command in done.stdout


def test_build_help_is_plain_text() -> None:
    done = nbrules("build", "--help")
    assert done.returncode == 0
    assert "--engine NAME" in done.stdout and "--force" in done.stdout
    assert "``" not in done.stdout and ":mod:" not in done.stdout


def test_in_process_refuses_a_kernel_of_another_python(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nbrules.cli.job import engine_for
    from nbrules.common.errors import ConfigError
    from nbrules.plan.jobspec import JobSpec

    other = tmp_path / "bin" / "python-elsewhere"
    other.parent.mkdir()
    other.write_text("#!/bin/sh\n")
    other.chmod(0o755)
    spec_dir = tmp_path / "kernels" / "elsewhere"
    spec_dir.mkdir(parents=True)
    (spec_dir / "kernel.json").write_text(json.dumps(
        {"argv": [str(other), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
         "display_name": "elsewhere", "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path))
    monkeypatch.setenv("NBRULES_ENGINE", "inprocess")
    spec = JobSpec(name="clean", source="notebooks/clean.py", products={}, single=False,
                   upstream={}, key_inputs={}, order_inputs=[], params={}, log="logs/c.log",
                   kernel="elsewhere", pythonpath=[], results="results")
    with pytest.raises(ConfigError) as caught:
        engine_for(spec)
    text = caught.value.render()
    assert text.startswith("notebooks/clean.py: engine 'inprocess' cannot run kernel "
                           f"'elsewhere': its Python is {other}")
    assert "hint: use engine: kernel for this notebook" in text
    assert engine_for(dataclasses.replace(spec, kernel="python3")) == "inprocess"
    monkeypatch.setenv("NBRULES_ENGINE", "kernel")
    assert engine_for(spec) == "kernel"


HIT_PROBE = """\
import sys
from nbrules.cli import main
code = main(["run", sys.argv[1]])
heavy = ("papermill", "nbformat", "nbclient", "jupytext", "pyarrow", "jupyter_client")
print(sorted(name for name in heavy if name in sys.modules))
sys.exit(code)
"""


def test_a_cache_hit_job_imports_no_engine_and_no_notebook_library(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nbrules.plan.jobspec import JobSpec, write_spec_file

    (tmp_path / "notebooks").mkdir()
    (tmp_path / "notebooks" / "n.py").write_text(
        '# %% tags=["parameters"]\nproduct = {"data": "out.txt"}\n\n'
        '# %%\nopen(product["data"], "w").write("made")\n')
    spec = JobSpec(name="n", source="notebooks/n.py", products={"data": "results/out.txt"},
                   single=False, upstream={}, key_inputs={}, order_inputs=[], params={},
                   log="logs/n.log", kernel="python3", pythonpath=["notebooks"],
                   results="results")
    spec_file = write_spec_file(spec, tmp_path)
    monkeypatch.setenv("NBRULES_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("NBRULES_ENGINE", "kernel")
    runs = [subprocess.run([sys.executable, "-c", HIT_PROBE, spec_file], cwd=tmp_path,
                           capture_output=True, text=True, check=True) for _ in range(2)]
    assert "cache miss" in runs[0].stderr and "'papermill'" in runs[0].stdout
    assert "cache hit" in runs[1].stderr, runs[1].stderr
    assert runs[1].stdout.strip() == "[]"
    assert (tmp_path / "results" / "out.txt").read_text() == "made"

"""nbrules' Snakemake logger (``logger: [nbrules]`` in the shipped profiles), end to end.

Plain ``snakemake --profile`` on fixture projects, with a profile that selects the
logger exactly as the shipped ones do.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]
PROJECTS = REPO / "tests" / "projects"


def shipped_logger_line() -> str:
    text = (REPO / "profiles" / "sample" / "config.yaml").read_text()
    found = re.search(r"^logger:.*$", text, re.MULTILINE)
    assert found, "the sample profile selects no logger"
    return found.group(0)


def project_with_profile(name: str, dest: Path) -> Path:
    project = dest / name
    shutil.copytree(PROJECTS / name, project, ignore=shutil.ignore_patterns(
        "results", "logs", ".snakemake", ".nbrules"))
    (project / "profile").mkdir()
    (project / "profile" / "config.yaml").write_text(f"cores: 2\n{shipped_logger_line()}\n")
    return project


def snakemake(project: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NBRULES_")}
    return subprocess.run([sys.executable, "-m", "snakemake", "--profile", "profile"],
                          cwd=project, env=env, capture_output=True, text=True, timeout=300,
                          check=False)


def test_a_failing_notebooks_path_line_is_the_last_thing_snakemake_prints(
    tmp_path: Path,
) -> None:
    project = project_with_profile("failing-cell", tmp_path)
    done = snakemake(project)
    assert done.returncode == 1
    lines = done.stderr.rstrip().splitlines()
    assert lines[-2] == "notebooks/fails.py:19: ZeroDivisionError: division by zero"
    assert lines[-1].startswith("hint: the executed notebook with the full traceback is at ")
    assert "nbrules: 0 executed, 0 restored, 0 up to date, 1 failed" in lines[-3]
    assert "python -m nbrules run" not in done.stderr  # no job command, no message: None
    assert "message: None" not in done.stderr
    assert re.search(r"^✗ fails\s+failed after [\d.]+s: notebooks/fails.py:19: ", done.stderr,
                     re.MULTILINE)


def test_one_line_per_notebook_a_cell_counter_and_a_summary(tmp_path: Path) -> None:
    project = project_with_profile("chain", tmp_path)
    source = project / "notebooks" / "make-numbers.py"
    source.write_text(source.read_text() + "\n# %%\nimport time\n\ntime.sleep(3)\n")
    first = snakemake(project)
    assert first.returncode == 0, first.stderr
    assert re.search(r"^▶ make-numbers\s+products missing$", first.stderr, re.MULTILINE)
    assert re.search(r"^  make-numbers\s+cell \d+/\d+ \(\d+s\)$", first.stderr, re.MULTILINE)
    assert re.search(r"^✓ make-numbers\s+executed in [\d.]+s — first build$", first.stderr,
                     re.MULTILINE)
    assert first.stderr.rstrip().splitlines()[-1].startswith(
        "nbrules: 3 executed, 0 restored, 0 up to date (")
    assert "nbrules: square: cache miss" not in first.stderr  # the job's own line: in its log
    for path in (project / "results").glob("squares.txt"):
        path.unlink()
    second = snakemake(project)
    assert second.returncode == 0, second.stderr
    assert re.search(r"^↺ square\s+restored 3 products in [\d.]+s$", second.stderr, re.MULTILINE)
    assert second.stderr.rstrip().splitlines()[-1].startswith(
        "nbrules: 0 executed, 2 restored, 1 up to date (")


def test_without_the_logger_snakemake_prints_its_own_output(tmp_path: Path) -> None:
    project = project_with_profile("failing-cell", tmp_path)
    (project / "profile" / "config.yaml").write_text("cores: 1\n")
    done = snakemake(project)
    assert done.returncode == 1
    assert "Error in rule fails:" in done.stderr
    assert "nbrules: notebooks/fails.py:19: ZeroDivisionError" in done.stderr


def test_a_parse_error_stays_the_last_thing_printed(tmp_path: Path) -> None:
    project = project_with_profile("chain", tmp_path)
    source = project / "notebooks" / "make-numbers.py"
    source.write_text(source.read_text().replace("count = 5", "count = = 5"))
    done = snakemake(project)
    assert done.returncode == 1
    lines = done.stderr.rstrip().splitlines()
    assert lines[-2:] == ["notebooks/make-numbers.py:7: syntax error in parameters cell: "
                          "invalid syntax",
                          "hint: the parameters cell must be plain Python assignments"]

"""`nbrules build` on Ploomber projects: dotted-path params, Ploomber's command-line
flags, ``exclude_input``; real Snakemake, real kernels, real cache.

Fixture notebooks append a line to ``kernel-runs.txt`` when they execute, so the new
lines after a build are exactly what that build executed (a restore adds none).
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from projectlib import copy, executed, nbrules_build

pytestmark = pytest.mark.slow


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new))


def injected(notebook: Path) -> str:
    nb = nbformat.read(notebook, as_version=4)
    return str(next(c.source for c in nb.cells
                    if "injected-parameters" in c.metadata.get("tags", [])))


def test_dotted_path_params_are_called_and_their_values_are_the_key(tmp_path: Path) -> None:
    project = copy("ploomber-dotted", tmp_path)
    assert executed(project) == ["fit-0.1", "fit-1.0"]
    assert "columns = ['x', 'y']" in injected(project / "output" / "fit-0.ipynb")

    assert executed(project) == []  # no-op
    settings = project / "settings.py"
    original = settings.read_text()
    edit(settings, "def columns(n):", "# the same values\ndef columns(n):")
    assert executed(project) == []  # the function's code is not the key, its value is

    edit(settings, '["x", "y", "z"]', '["a", "y", "z"]')
    assert executed(project) == ["fit-0.1", "fit-1.0"]
    assert "columns = ['a', 'y']" in injected(project / "output" / "fit-1.ipynb")

    settings.write_text(original)
    assert executed(project) == []  # revert: restored from the cache
    assert "columns = ['x', 'y']" in injected(project / "output" / "fit-1.ipynb")


def test_a_failing_dotted_path_is_a_located_error(tmp_path: Path) -> None:
    project = copy("ploomber-dotted", tmp_path)
    edit(project / "settings.py", "return [0.1, 1.0]", "return 1 / 0")
    done = nbrules_build(project)
    assert done.returncode == 1
    assert ("pipeline.yaml:8: grid.alpha: settings::alphas() raised ZeroDivisionError"
            in done.stderr), done.stderr[-3000:]
    assert not (project / "kernel-runs.txt").exists()


def test_partially_skip_upstream_and_log_file_as_in_ploomber(tmp_path: Path) -> None:
    project = copy("ploomber-basic", tmp_path)
    assert executed(project, "--partially", "squares", "--log-file", "logs/build.log") == [
        "get", "squares"]
    log = (project / "logs" / "build.log").read_text()
    assert "rule squares:" in log and "Finished job" in log  # Snakemake's own lines

    assert executed(project) == ["cube", "report"]

    edit(project / "square.py", "n * n", "n * n + 1")  # squares is now out of date
    edit(project / "report.py", 'print(f"TOTALS', 'print(f"SUMS')  # and so is report
    assert executed(project, "--partially", "report", "--skip-upstream") == ["report"]
    assert (project / "output" / "squares.txt").read_text().split()[:2] == ["0", "1"]

    assert executed(project, "--partially", "report", "--log", "warning") == [
        "report", "squares"]
    assert (project / "output" / "squares.txt").read_text().split()[:2] == ["1", "2"]


def test_skip_upstream_with_a_missing_upstream_product_fails_clearly(tmp_path: Path) -> None:
    project = copy("ploomber-basic", tmp_path)
    done = nbrules_build(project, "--partially", "squares", "--skip-upstream")
    assert done.returncode == 1
    assert "output/numbers.txt" in done.stderr and "Missing input files" in done.stderr, (
        done.stderr[-3000:])
    assert not (project / "kernel-runs.txt").exists()


def test_exclude_input_hides_the_code_of_the_html_and_is_part_of_the_key(tmp_path: Path) -> None:
    project = copy("ploomber-exclude-input", tmp_path)
    assert executed(project) == ["details", "summary"]
    summary = (project / "output" / "summary.html").read_text()
    details = (project / "output" / "details.html").read_text()
    assert "RESULT 45" in summary and "secret_sauce" not in summary  # output, no code
    assert "RESULT 10" in details and "visible_code" in details
    assert executed(project) == []

    spec = project / "pipeline.yaml"
    edit(spec, "exclude_input: true", "exclude_input: false")
    assert executed(project) == ["summary"]
    assert "secret_sauce" in (project / "output" / "summary.html").read_text()

    edit(spec, "exclude_input: false", "exclude_input: true")
    assert executed(project) == []  # revert: restored
    assert "secret_sauce" not in (project / "output" / "summary.html").read_text()

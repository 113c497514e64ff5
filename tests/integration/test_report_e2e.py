"""The executed notebooks' HTML renderings on real Snakemake runs: written, cached, restored.

``tests/projects/chain`` (``make-numbers -> square -> total``); the example's own
report, in a browser, is tested in ``test_example.py``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import copy_project, run_snakemake

pytestmark = pytest.mark.slow

RESULTS = "results/demo"
RENDERINGS = ("make-numbers.html", "square.html", "total.html")


def build(project: Path, *args: str) -> str:
    code, output = run_snakemake(project, "--configfile", "config.yaml", *args)
    assert code == 0, output[-4000:]
    return output


def test_renderings_are_written_cached_and_restored_byte_identical(tmp_path: Path) -> None:
    project = copy_project("chain", tmp_path)
    (project / "config.yaml").write_text(f"results: {RESULTS}\nparams:\n  count: 4\n")
    build(project)
    pages = {name: (project / RESULTS / name).read_bytes() for name in RENDERINGS}
    assert b"<html" in pages["square.html"] and b"squares" in pages["square.html"]
    shutil.rmtree(project / RESULTS)
    again = build(project)
    assert again.count("cache hit") == 3 and "cache miss" not in again
    assert {name: (project / RESULTS / name).read_bytes() for name in RENDERINGS} == pages


def test_snakemake_report_shows_each_rendering_and_a_notebook_can_opt_out(
    tmp_path: Path,
) -> None:
    project = copy_project("chain", tmp_path)
    (project / "config.yaml").write_text(f"results: {RESULTS}\n")
    total = project / "notebooks" / "total.py"
    total.write_text(
        total.read_text().replace(
            'product = "total.ipynb"', 'product = "total.ipynb"\nreport = {"nb": None}'
        )
    )
    build(project)
    assert not (project / RESULTS / "total.html").exists()
    output = build(project, "--report", "report.html")
    assert "Adding make-numbers.html" in output and "Adding square.html" in output
    assert "total" not in output.split("Creating report...", 1)[1].split("Report created")[0]
    assert (project / "report.html").stat().st_size > 100_000

"""The example nycflights13 pipeline, built for real with its profiles."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = ("get-data", "clean", "features", "fit-model", "evaluate")


def _copy_example(dest: Path) -> Path:
    for folder in ("workflow", "profiles"):
        shutil.copytree(REPO / folder, dest / folder,
                        ignore=shutil.ignore_patterns("__pycache__"))
    return dest


def _snakemake(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "snakemake", *args],
        cwd=cwd, capture_output=True, text=True, timeout=600, check=False,
    )


@pytest.fixture(scope="module")
def sample_build(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    project = _copy_example(tmp_path_factory.mktemp("example"))
    result = _snakemake(project, "--profile", "profiles/sample")
    assert result.returncode == 0, result.stderr[-4000:]
    return project, result.stderr


def test_sample_profile_builds_every_product_under_results_sample(
    sample_build: tuple[Path, str],
) -> None:
    project, _ = sample_build
    results = project / "results" / "sample"
    for name in NOTEBOOKS:
        assert (results / f"{name}.ipynb").is_file(), name
    assert (results / "report.html").is_file()
    metrics = json.loads((results / "evaluation" / "metrics.json").read_text())
    assert 0.5 < metrics["roc_auc"] <= 1.0
    assert metrics["n"] > 100
    assert not (project / "results" / "default").exists()


def test_sample_is_about_one_percent_of_the_flights(sample_build: tuple[Path, str]) -> None:
    import pyarrow.parquet as pq

    project, _ = sample_build
    rows = pq.read_metadata(project / "results/sample/data/raw/flights.parquet").num_rows
    assert rows == round(336_776 * 0.01)


def test_executed_notebooks_show_outputs_and_plots(sample_build: tuple[Path, str]) -> None:
    project, _ = sample_build
    nb = nbformat.read(project / "results/sample/evaluate.ipynb", as_version=4)
    outputs = [out for cell in nb.cells if cell.cell_type == "code" for out in cell.outputs]
    assert any("image/png" in out.get("data", {}) for out in outputs)
    injected = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert len(injected) == 1
    html = (project / "results/sample/report.html").read_text()
    assert "data:image/png;base64," in html


def test_logs_stay_outside_the_products(sample_build: tuple[Path, str]) -> None:
    project, _ = sample_build
    names = [*NOTEBOOKS, "report"]
    # The sample profile runs its notebooks in process: no kernel, so no kernel logs.
    assert sorted(p.name for p in (project / "logs/sample").glob("*.log")) == sorted(
        [*(f"{n}.log" for n in names), *(f"{n}.history.log" for n in names)]
    )
    for name in names:
        lines = (project / f"logs/sample/{name}.log").read_text().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"nbrules: {name}: cache miss")
    assert not list((project / "results").rglob("*.log"))


def test_second_build_has_nothing_to_do(sample_build: tuple[Path, str]) -> None:
    project, _ = sample_build
    result = _snakemake(project, "--profile", "profiles/sample")
    assert result.returncode == 0
    assert "Nothing to be done" in result.stdout + result.stderr


def test_dev_profile_targets_its_own_folder(sample_build: tuple[Path, str]) -> None:
    project, _ = sample_build
    result = _snakemake(project, "--profile", "profiles/dev", "-n")
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout + result.stderr
    assert "results/dev/data/raw/flights.parquet" in out
    assert "results/sample/" not in out


@pytest.mark.slow
def test_dev_profile_builds_beside_sample(sample_build: tuple[Path, str]) -> None:
    import pyarrow.parquet as pq

    project, _ = sample_build
    before = (project / "results/sample/data/features.parquet").read_bytes()
    result = _snakemake(project, "--profile", "profiles/dev")
    assert result.returncode == 0, result.stderr[-4000:]
    rows = pq.read_metadata(project / "results/dev/data/raw/flights.parquet").num_rows
    assert rows == round(336_776 * 0.1)
    assert (project / "results/sample/data/features.parquet").read_bytes() == before


# ---------------------------------------------------------------- the report

REPORTED = {
    "get-data": {"get-data.html"},
    "clean": {"clean.html"},
    "features": {"features.html"},
    "fit-model": {"fit-model.html"},
    "evaluate": {"evaluate.html", "roc.png", "delay_by_hour.png"},
    "report": {"report.html"},
}


@pytest.fixture(scope="module")
def report(sample_build: tuple[Path, str]) -> Path:
    project, _ = sample_build
    result = _snakemake(project, "--profile", "profiles/sample", "--report", "report.html")
    assert result.returncode == 0, result.stderr[-4000:]
    return project / "report.html"


def _report_variable(report: Path, script: str) -> Any:
    """A JSON value the report embeds: ``<script id="x"> var x = {...}; </script>``."""
    html = report.read_text(encoding="utf-8")
    found = re.search(rf'<script id="{script}">\s*var \w+ = (.*?);?\s*</script>', html, re.S)
    assert found is not None, script
    return json.loads(found.group(1))


def test_report_holds_each_notebook_rendered_with_its_plots(report: Path) -> None:
    categories = _report_variable(report, "categories")
    grouped = {
        name: {Path(p).name for files in sub.values() for p in files}
        for name, sub in categories.items()
    }
    assert grouped == REPORTED
    results = _report_variable(report, "results")
    notebook = results["results/sample/evaluate.html"]
    assert notebook["mime_type"] == "text/html"
    page = base64.b64decode(notebook["data_uri"].split("base64,", 1)[1]).decode()
    assert "Scores the held-out flights" in page and "data:image/png;base64," in page
    roc = results["results/sample/evaluation/roc.png"]
    assert roc["mime_type"] == "image/png"
    assert "ROC curve of the classifier on the held-out flights." in roc["caption"]
    assert "workflow/notebooks/clean.py" in results["results/sample/clean.html"]["caption"]


def test_report_has_the_dag_and_runtimes(report: Path) -> None:
    rules = {v["rule"] for v in _report_variable(report, "runtimes")["data"]["values"]}
    assert {"get_data", "clean", "features", "fit_model", "evaluate", "report"} <= rules
    graph = json.dumps(_report_variable(report, "rulegraph"))
    assert all(f'"{name}"' in graph for name in ("get_data", "fit_model", "report"))


def test_report_opens_in_a_headless_browser(report: Path, tmp_path: Path) -> None:
    from conftest import CHROMIUM_FLAGS, chromium
    from PIL import Image
    from playwright.sync_api import sync_playwright

    executable = chromium()
    shot = Path(os.environ.get("NBRULES_REPORT_SCREENSHOT") or tmp_path / "report.png")
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=executable, args=list(CHROMIUM_FLAGS))
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 860})
            page.goto(report.as_uri())
            menu = page.locator("body").inner_text()
            assert all(name in menu for name in REPORTED), menu
            page.get_by_text("evaluate", exact=True).first.click()
            page.locator("tr", has_text="evaluate.html").locator("a").first.click()
            frame = page.frame_locator("iframe")
            frame.get_by_text("Scores the held-out flights").wait_for(timeout=15_000)
            page.screenshot(path=str(shot))
        finally:
            browser.close()
    low, high = Image.open(shot).convert("L").getextrema()
    assert isinstance(low, int) and isinstance(high, int)
    assert shot.stat().st_size > 20_000 and high - low > 100, "the screenshot shows a page"

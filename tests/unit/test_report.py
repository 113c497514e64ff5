"""What notebooks put in Snakemake's report: declarations, the HTML rendering, the flags."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import copy_project, rules_of

from nbrules.common.errors import DeclarationError, DuplicateProduct
from nbrules.plan import graph
from nbrules.plan.declarations import parse_parameters, task_from_cell
from nbrules.plan.inject import injected_source
from nbrules.plan.report import RENDERED, parse_report, rendered_path

PRODUCTS = {"nb": "evaluate.ipynb", "roc": "roc.png", "metrics": "metrics.json"}
NB = Path("notebooks/evaluate.py")


def report_of(value: Any, notebook: bool = True) -> dict[str, str]:
    return parse_report(value, PRODUCTS, NB, 9, notebook)


def test_the_executed_notebook_is_in_by_default_and_can_be_left_out() -> None:
    assert report_of(None) == {"nb": ""}
    assert report_of({"roc": "ROC curve"}) == {"nb": "", "roc": "ROC curve"}
    assert report_of({"nb": None, "roc": "ROC"}) == {"roc": "ROC"}
    assert report_of({"nb": "mine"}) == {"nb": "mine"}
    assert report_of(None, notebook=False) == {}


def test_report_declaration_errors() -> None:
    with pytest.raises(DeclarationError) as info:
        report_of({"rco": "ROC"})
    assert info.value.render() == (
        "notebooks/evaluate.py:9: 'report' names product 'rco', which this notebook does "
        "not declare\nhint: did you mean 'roc'?"
    )
    with pytest.raises(DeclarationError, match="must map product keys to captions"):
        report_of({"roc": 3})
    with pytest.raises(DeclarationError, match="must map product keys to captions"):
        report_of(["roc"])


def test_the_rendering_sits_beside_the_executed_notebook() -> None:
    assert rendered_path("evaluate", PRODUCTS, {"nb": ""}) == "evaluate.html"
    assert rendered_path("x", {"nb": "deep/x.ipynb"}, {"nb": ""}) == "deep/x.html"
    assert rendered_path("x", {"nb": "x.html"}, {"nb": ""}) is None  # HTML already
    assert rendered_path("x", {"data": "x.csv"}, {"nb": ""}) == "x.html"  # executed in logs/
    assert rendered_path("x", PRODUCTS, {"roc": ""}) is None  # left out of the report


def task_of(text: str, name: str = "evaluate") -> Any:
    return task_from_cell(Path(f"notebooks/{name}.py"), name, parse_parameters(text, NB, 1))


def test_report_is_reserved_and_the_rendering_may_not_collide() -> None:
    first = task_of(
        'upstream = None\nproduct = {"nb": "a.ipynb"}\nreport = {"nb": "A"}\nn = 1\n', "a"
    )
    assert dict(first.params) == {"n": 1} and dict(first.report) == {"nb": "A"}
    second = task_of('upstream = None\nproduct = {"nb": "b.ipynb", "page": "a.html"}\n', "b")
    with pytest.raises(DuplicateProduct, match=r"'a\.html' is also declared by"):
        graph.build([first, second])


def test_rules_flag_the_report_products_with_captions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = copy_project("chain", tmp_path)
    monkeypatch.chdir(project)
    source = project / "notebooks" / "square.py"
    source.write_text(
        source.read_text().replace(
            'product = {"nb": "square.ipynb", "data": "squares.txt"}',
            'product = {"nb": "square.ipynb", "data": "squares.txt"}\n'
            'report = {"data": "The squares, one a line."}',
        )
    )
    rules = {r.task: r for r in rules_of({"results": "results/demo"}, project)}
    square = rules["square"]
    assert square.output[RENDERED] == "results/demo/square.html"
    assert set(square.report) == {RENDERED, "data"}
    assert {flag.category for flag in square.report.values()} == {"square"}
    captions = {k: Path(f.caption).read_text() for k, f in square.report.items()}
    assert "The squares, one a line." in captions["data"]
    assert "``notebooks/square.py``" in captions[RENDERED]
    assert captions["data"].startswith("{% raw %}")  # Snakemake renders captions with Jinja
    assert set(rules["total"].report) == {RENDERED}


def test_the_rendering_is_not_injected_into_the_notebook(tmp_path: Path) -> None:
    project = copy_project("chain", tmp_path)
    rules = {r.task: r for r in rules_of({"results": "results/demo"}, project)}
    total = rules["total"].job  # a single-path product: injected as a plain string
    assert RENDERED in total.products
    assert "product = '" in injected_source(total, project)
    assert ".html" not in injected_source(rules["square"].job, project)

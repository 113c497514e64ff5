"""Function and shell-script tasks run for real (nbrules.run.scripts via run.execute)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from nbrules.common.errors import ExecutionError
from nbrules.plan.jobspec import JobSpec
from nbrules.run.execute import run
from nbrules.run.scripts import render_script

MODULE = '''\
from pathlib import Path


def make(product, upstream, scale, label="x"):
    Path(product["data"]).write_text(f"{label} {scale} {upstream['get']}")
    if scale < 0:
        raise ValueError("negative scale")


def lazy(product):
    pass
'''


def spec(function: str = "jobtasks.make", **changes: object) -> JobSpec:
    values: dict[str, object] = dict(
        name="make", source="jobtasks.py", products={"data": "out/made.txt"}, single=False,
        upstream={"get": "out/raw.txt"}, key_inputs={}, order_inputs=[],
        params={"scale": 2}, log="logs/make.log", kernel="python3", pythonpath=["."],
        results="out", kind="function", function=function)
    values.update(changes)
    return JobSpec(**values)  # type: ignore[arg-type]


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "jobtasks.py").write_text(MODULE)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    sys.modules.pop("jobtasks", None)
    return tmp_path


def test_a_function_gets_params_product_and_upstream_as_keywords(project: Path) -> None:
    run(spec(), project)
    assert (project / "out" / "made.txt").read_text() == "x 2 out/raw.txt"


def test_a_failing_function_is_located_and_leaves_no_product(project: Path) -> None:
    with pytest.raises(ExecutionError) as caught:
        run(spec(params={"scale": -1}), project)
    assert caught.value.render().startswith("jobtasks.py:7: ValueError: negative scale")
    assert not (project / "out" / "made.txt").exists()


def test_a_function_that_writes_no_product_fails(project: Path) -> None:
    with pytest.raises(ExecutionError) as caught:
        run(spec("jobtasks.lazy", params={}, upstream={}), project)
    assert "function ran but did not write product 'data' (out/made.txt)" in caught.value.render()


def test_a_script_is_rendered_and_run_by_bash(project: Path) -> None:
    (project / "run.sh").write_text("printf '%s' '{{label}}' > {{product['data']}}\nexit 0\n")
    run(spec(source="run.sh", kind="shell", function="", params={"label": "hi"}), project)
    assert (project / "out" / "made.txt").read_text() == "hi"


def test_a_failing_script_fails_the_task(project: Path) -> None:
    (project / "run.sh").write_text("echo partial > {{product['data']}}\nexit 3\n")
    with pytest.raises(ExecutionError) as caught:
        run(spec(source="run.sh", kind="shell", function=""), project)
    assert "run.sh: the script exited with status 3" in caught.value.render()
    assert not (project / "out" / "made.txt").exists()


def test_a_misspelled_placeholder_is_an_error() -> None:
    with pytest.raises(ExecutionError) as caught:
        render_script(spec(source="run.sh", kind="shell"), "cat {{upstream['get']}} > {{prodcut}}")
    assert "'prodcut' is undefined" in caught.value.render()

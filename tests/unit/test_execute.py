"""Injection and the executor, with a fake engine at the ``engines.Engine`` seam."""

from __future__ import annotations

import ast
import dataclasses
import json
import os
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nbformat
import pytest

from nbrules.common.errors import ExecutionError
from nbrules.common.notebooks import INJECTED_TAG, read_notebook
from nbrules.engines import CellFailure, EngineRequest, get_engine
from nbrules.plan.declarations import read_declaration
from nbrules.plan.inject import inject, injected_source
from nbrules.plan.jobspec import JobSpec, job_spec
from nbrules.plan.settings import parse_settings as settings
from nbrules.run.execute import run, write_notebook

Cells = Callable[[nbformat.NotebookNode, Path], None]

NOTEBOOK = '''
# %% [markdown]
# Doubles the numbers.

# %% tags=["parameters"]
upstream = ["make"]
product = {"nb": "double.ipynb", "data": "data/doubled.txt"}
factor = 2
label = "x"

# %%
numbers = open(upstream["make"]["data"]).read().split()
numbers

# %%
numbers
result = [int(n) * factor for n in numbers]
result[10]
'''


class FakeEngine:
    """Records what it was given; ``cells`` stands in for running the code."""

    def __init__(self, cells: Cells | None = None) -> None:
        self.cells = cells
        self.kernel = ""
        self.pythonpath = ""
        self.notebook: nbformat.NotebookNode | None = None
        self.request: EngineRequest | None = None

    def execute(self, nb: nbformat.NotebookNode, request: EngineRequest) -> None:
        self.notebook, self.kernel, self.request = nb, request.kernel, request
        self.pythonpath = request.env.get("PYTHONPATH", "")
        if self.cells is not None:
            self.cells(nb, request.cwd)


def write_products(spec: JobSpec, keys: tuple[str, ...] = ("data",)) -> Cells:
    def cells(nb: nbformat.NotebookNode, cwd: Path) -> None:
        for key in keys:
            (cwd / spec.products[key]).write_text("2\n4\n")
    return cells


def fail_in(marker: str, traceback: str, before: Cells | None = None) -> Cells:
    def cells(nb: nbformat.NotebookNode, cwd: Path) -> None:
        if before is not None:
            before(nb, cwd)
        index = next(i for i, c in enumerate(nb.cells) if marker in c.source)
        raise CellFailure(index, "IndexError", "list index out of range", traceback)
    return cells


@pytest.fixture
def spec(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> JobSpec:
    """The job of notebooks/double.py, with tmp_path as the working directory."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notebooks").mkdir()
    source = tmp_path / "notebooks" / "double.py"
    source.write_text(textwrap.dedent(NOTEBOOK).lstrip("\n"))
    make = tmp_path / "notebooks" / "make.py"
    make.write_text('# %% tags=["parameters"]\nupstream = None\n'
                    'product = {"nb": "make.ipynb", "data": "numbers.txt"}\n')
    s = settings({"results": "results/demo"}, tmp_path, tmp_path)
    double, upstream = (read_declaration(Path("notebooks") / p.name) for p in (source, make))
    assert double is not None and upstream is not None
    return job_spec(double, {"make": upstream}, s)


def assignments(source: str) -> dict[str, Any]:
    tree = ast.parse(source)
    assert all(isinstance(node, ast.Assign) for node in tree.body)
    return {
        node.targets[0].id: ast.literal_eval(node.value)  # type: ignore[attr-defined]
        for node in tree.body
        if isinstance(node, ast.Assign)
    }


def test_injected_cell_round_trips_every_value(spec: JobSpec, tmp_path: Path) -> None:
    values = assignments(injected_source(spec, tmp_path))
    root = tmp_path / "results" / "demo"
    assert values == {
        "upstream": {"make": {"nb": str(root / "make.ipynb"), "data": str(root / "numbers.txt")}},
        "product": {"nb": str(root / "double.ipynb"), "data": str(root / "data/doubled.txt")},
        "factor": 2,
        "label": "x",
    }


@pytest.mark.parametrize(
    "value",
    [
        '"; import os; os.system("echo pwned") #',
        "line one\nimport os\n",
        "'''\nimport os\n'''",
        'back\\slash \\" end\\',
        "\x00\u2028unicode ünïcode",
    ],
)
def test_strings_cannot_break_out_of_the_injected_cell(
    spec: JobSpec, tmp_path: Path, value: str
) -> None:
    fields = {**json.loads(spec.to_json()), "params": {"label": value}}
    hostile = JobSpec.from_json(json.dumps(fields))
    source = injected_source(hostile, tmp_path)
    tree = ast.parse(source)
    assert [type(node) for node in tree.body] == [ast.Assign] * 3
    assert assignments(source)["label"] == value


def test_single_product_is_injected_as_a_plain_path(spec: JobSpec, tmp_path: Path) -> None:
    single = JobSpec.from_json(json.dumps({
        **json.loads(spec.to_json()),
        "single": True,
        "products": {"nb": "results/demo/double.ipynb"},
        "upstream": {"make": "results/demo/make.ipynb"},
    }))
    values = assignments(injected_source(single, tmp_path))
    assert values["product"] == str(tmp_path / "results/demo/double.ipynb")
    assert values["upstream"] == {"make": str(tmp_path / "results/demo/make.ipynb")}


def test_injected_cell_goes_right_after_parameters(spec: JobSpec, tmp_path: Path) -> None:
    nb = read_notebook(tmp_path / spec.source)
    injected = inject(nb, "x = 1", Path(spec.source))
    tags = [cell.metadata.get("tags", []) for cell in injected.cells]
    assert tags[1] == ["parameters"]
    assert tags[2] == [INJECTED_TAG]
    assert injected.cells[2].source == "x = 1"
    assert len(injected.cells) == len(nb.cells) + 1
    assert all(INJECTED_TAG not in cell.metadata.get("tags", []) for cell in nb.cells)


def test_a_stale_injected_cell_is_replaced(spec: JobSpec, tmp_path: Path) -> None:
    source = tmp_path / spec.source
    text = source.read_text().replace(
        "# %%\nnumbers = open",
        '# %% tags=["injected-parameters"]\nfactor = 99\n\n# %%\nnumbers = open',
        1,
    )
    source.write_text(text)
    injected = inject(read_notebook(source), "factor = 3", Path(spec.source))
    stale = [c.source for c in injected.cells if INJECTED_TAG in c.metadata.get("tags", [])]
    assert stale == ["factor = 3"]


def test_inject_without_parameters_cell_is_an_execution_error(tmp_path: Path) -> None:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")])
    with pytest.raises(ExecutionError) as caught:
        inject(nb, "y = 2", tmp_path / "x.py")
    assert caught.value.hint and "parameters" in caught.value.hint


def test_run_writes_the_executed_notebook_and_keeps_the_source(
    spec: JobSpec, tmp_path: Path
) -> None:
    source = tmp_path / spec.source
    before = source.read_bytes()
    engine = FakeEngine(write_products(spec))
    result = run(spec, tmp_path, engine)
    assert source.read_bytes() == before
    assert result.notebook == tmp_path / "results/demo/double.ipynb"
    executed = nbformat.read(result.notebook, as_version=4)
    assert any(INJECTED_TAG in c.metadata.get("tags", []) for c in executed.cells)
    assert executed.metadata["kernelspec"]["name"] == "python3"
    assert engine.kernel == "python3"
    assert engine.pythonpath.split(os.pathsep)[0] == str(tmp_path / "notebooks")
    assert os.environ.get("PYTHONPATH", "") != engine.pythonpath


def test_threads_limit_the_kernels_math_libraries(spec: JobSpec, tmp_path: Path) -> None:
    engine = FakeEngine(write_products(spec))
    run(spec, tmp_path, engine, threads=3)
    assert engine.request is not None
    seen = {k: engine.request.env.get(k) for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    assert seen == {"OMP_NUM_THREADS": "3", "MKL_NUM_THREADS": "3"}
    assert "OMP_NUM_THREADS" not in os.environ or os.environ["OMP_NUM_THREADS"] != "3"


def test_failure_names_the_py_line(spec: JobSpec, tmp_path: Path) -> None:
    # "Cell In[4], line 3": third line of the last cell, result[10] (file line 17).
    traceback = (
        "\x1b[0;31m---------------------------------------------------------------\x1b[0m\n"
        "\x1b[0;31mIndexError\x1b[0m  Traceback (most recent call last)\n"
        "Cell \x1b[0;32mIn[4], line 3\x1b[0m\n\x1b[1;32m      1\x1b[0m numbers\n"
        "\x1b[0;31mIndexError\x1b[0m: list index out of range"
    )
    with pytest.raises(ExecutionError) as caught:
        run(spec, tmp_path, FakeEngine(fail_in("result[10]", traceback)))
    error = caught.value
    assert error.render().splitlines()[0] == (
        "notebooks/double.py:17: IndexError: list index out of range"
    )
    lines = (tmp_path / spec.source).read_text().splitlines()
    assert lines[17 - 1] == "result[10]"


def test_failure_in_a_cell_opening_with_an_earlier_line(spec: JobSpec, tmp_path: Path) -> None:
    # The failing cell opens with "numbers", the last line of the cell above.
    traceback = "Cell In[4], line 1\n----> 1 numbers"
    with pytest.raises(ExecutionError) as caught:
        run(spec, tmp_path, FakeEngine(fail_in("result[10]", traceback)))
    assert caught.value.line == 15


def test_failure_removes_products_and_saves_the_failed_notebook(
    spec: JobSpec, tmp_path: Path
) -> None:
    engine = FakeEngine(fail_in("result[10]", "Cell In[4], line 3", write_products(spec)))
    with pytest.raises(ExecutionError) as caught:
        run(spec, tmp_path, engine)
    assert not (tmp_path / spec.products["data"]).exists()
    assert not (tmp_path / spec.products["nb"]).exists()
    saved = tmp_path / "logs/demo/double.failed.ipynb"
    assert saved.is_file()
    assert caught.value.hint and "logs/demo/double.failed.ipynb" in caught.value.hint


def test_any_other_exception_also_removes_products(spec: JobSpec, tmp_path: Path) -> None:
    def crash(nb: nbformat.NotebookNode, cwd: Path) -> None:
        write_products(spec)(nb, cwd)
        raise RuntimeError("kernel died")

    with pytest.raises(RuntimeError):
        run(spec, tmp_path, FakeEngine(crash))
    assert not (tmp_path / spec.products["data"]).exists()


def test_a_product_the_notebook_did_not_write_is_an_error(spec: JobSpec, tmp_path: Path) -> None:
    with pytest.raises(ExecutionError) as caught:
        run(spec, tmp_path, FakeEngine())
    assert caught.value.message == (
        "notebook ran but did not write product 'data' (results/demo/data/doubled.txt)"
    )
    assert caught.value.hint == "write it to product['data'] in the notebook"
    assert not (tmp_path / spec.products["nb"]).exists()


def test_html_product_embeds_images(tmp_path: Path) -> None:
    png = (
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQ"
        "AAAABJRU5ErkJggg=="
    )
    cell = nbformat.v4.new_code_cell("plot()")
    cell.outputs = [nbformat.v4.new_output("display_data", data={"image/png": png})]
    nb = nbformat.v4.new_notebook(cells=[cell])
    write_notebook(nb, tmp_path / "report.html")
    html = (tmp_path / "report.html").read_text()
    assert f"data:image/png;base64,{png}" in html


def test_unknown_kernel_is_a_located_error_with_a_hint(spec: JobSpec, tmp_path: Path) -> None:
    from dataclasses import replace

    spec = replace(spec, kernel="no-such-kernel")
    (tmp_path / "results/demo").mkdir(parents=True)
    (tmp_path / "results/demo/numbers.txt").write_text("1\n2\n")
    with pytest.raises(ExecutionError) as caught:
        run(spec, tmp_path, get_engine("kernel"))
    text = caught.value.render()
    assert text.startswith("notebooks/double.py: no Jupyter kernel named 'no-such-kernel'")
    assert "hint: install ipykernel" in text
    assert not (tmp_path / "results/demo/data/doubled.txt").exists()


def test_kernel_stderr_goes_to_the_job_log_not_the_console(
    spec: JobSpec, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("import sys; sys.__stderr__.write('kernel-noise\\n')")]
    log = tmp_path / "logs" / "k.log"
    log.parent.mkdir()
    log.write_text("from an earlier run\n")
    get_engine("kernel").execute(nb, EngineRequest(tmp_path, "python3", dict(os.environ), log))
    assert "kernel-noise" in log.read_text()
    assert "earlier run" not in log.read_text()
    assert "kernel-noise" not in capfd.readouterr().err


def folder_spec(spec: JobSpec) -> JobSpec:
    products = {**spec.products, "data": spec.products["data"].removesuffix(".txt") + "/"}
    return dataclasses.replace(spec, products=products)


def test_a_folder_product_must_come_out_as_a_folder(spec: JobSpec, tmp_path: Path) -> None:
    folder = folder_spec(spec)
    target = tmp_path / folder.plain_products["data"]

    def writes_folder(nb: nbformat.NotebookNode, cwd: Path) -> None:
        (target / "part").mkdir(parents=True)
        (target / "part" / "0.txt").write_text("0")

    assert injected_source(folder, tmp_path).count(str(target) + "'") == 1  # no trailing '/'
    run(folder, tmp_path, FakeEngine(writes_folder))
    assert (target / "part" / "0.txt").read_text() == "0"


@pytest.mark.parametrize("declared_folder", [True, False])
def test_a_product_of_the_wrong_kind_fails_with_a_hint_and_removes_it(
    spec: JobSpec, tmp_path: Path, declared_folder: bool
) -> None:
    job = folder_spec(spec) if declared_folder else spec
    target = tmp_path / job.plain_products["data"]

    def writes_the_other_kind(nb: nbformat.NotebookNode, cwd: Path) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        if declared_folder:
            target.write_text("a file")
        else:
            (target / "x").mkdir(parents=True)

    with pytest.raises(ExecutionError) as caught:
        run(job, tmp_path, FakeEngine(writes_the_other_kind))
    expected = "declared as a folder, but the notebook wrote a file" if declared_folder \
        else "is a folder, but it is declared as a file"
    assert expected in caught.value.message and caught.value.hint
    assert not target.exists()

"""Both engines, for real: a Jupyter kernel and the in-process shell, through papermill."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import nbformat
import pytest

from nbrules.engines import CellFailure, EngineRequest, get_engine

ENGINES = ["kernel", "inprocess"]

CELLS = [
    "print('to stdout')",
    "import sys\nprint('to stderr', file=sys.stderr)",
    "import pandas as pd\ntable = pd.DataFrame({f'column_{i}': [i * 1000] for i in range(30)})"
    "\ntable",
    "import matplotlib.pyplot as plt\nplt.plot([1, 2, 3])\nplt.title('line');",
    "from IPython.display import Markdown, display\ndisplay(Markdown('**bold**'))",
    "import os\nos.environ['FROM_ENV'] + os.getcwd()",
]


def notebook(*sources: str, raises: int | None = None) -> nbformat.NotebookNode:
    cells = [nbformat.v4.new_code_cell(s) for s in sources]
    if raises is not None:
        cells[raises].metadata["tags"] = ["raises-exception"]
    nb: nbformat.NotebookNode = nbformat.v4.new_notebook(cells=cells)
    return nb


def request(tmp_path: Path, **env: str) -> EngineRequest:
    return EngineRequest(
        tmp_path,
        "python3",
        {**os.environ, **env},
        tmp_path / "kernel.log",
        source="notebooks/demo.py",
        output="results/demo.ipynb",
        parameters={"factor": 2},
    )


def shape(nb: nbformat.NotebookNode) -> list[list[tuple[str, str]]]:
    """What a reader sees per cell: output types, stream names and MIME types."""
    cells = []
    for cell in nb.cells:
        seen = []
        for out in cell.outputs:
            kinds = out.get("name") or ",".join(sorted(out.get("data", {})))
            seen.append((out.output_type, kinds))
        cells.append(seen)
    return cells


@pytest.fixture(scope="module")
def executed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, nbformat.NotebookNode]:
    """The same notebook executed by each engine."""
    done = {}
    for name in ENGINES:
        cwd = tmp_path_factory.mktemp(name)
        nb = notebook(*CELLS)
        get_engine(name).execute(nb, request(cwd, FROM_ENV="env:"))
        done[name] = nb
    return done


def test_both_engines_give_the_same_outputs(executed: dict[str, nbformat.NotebookNode]) -> None:
    kernel, inprocess = executed["kernel"], executed["inprocess"]
    assert shape(inprocess) == shape(kernel)
    assert shape(kernel) == [
        [("stream", "stdout")],
        [("stream", "stderr")],
        [("execute_result", "text/html,text/plain")],
        [("display_data", "image/png,text/plain")],
        [("display_data", "text/markdown,text/plain")],
        [("execute_result", "text/plain")],
    ]
    for nb in (kernel, inprocess):
        assert [c.execution_count for c in nb.cells] == [1, 2, 3, 4, 5, 6]
        assert nb.cells[0].outputs[0].text == "to stdout\n"
        assert "<table" in nb.cells[2].outputs[0].data["text/html"]
        assert nb.cells[3].outputs[0].data["image/png"].startswith("iVBOR")  # base64 PNG
        assert nb.metadata.language_info.name == "python"
    # A wide table is laid out for a notebook by both (20 columns, wrapped at 80).
    assert inprocess.cells[2].outputs[0].data == kernel.cells[2].outputs[0].data
    assert "30 columns</p>" in kernel.cells[2].outputs[0].data["text/html"]
    assert "column_6  \\\n" in kernel.cells[2].outputs[0].data["text/plain"]
    cwds = {name: nb.cells[5].outputs[0].data["text/plain"] for name, nb in executed.items()}
    assert all(text.startswith("'env:") and name in text for name, text in cwds.items())


def test_executed_notebooks_carry_papermills_metadata(
    executed: dict[str, nbformat.NotebookNode],
) -> None:
    for nb in executed.values():
        meta = nb.metadata.papermill
        assert meta.input_path == "notebooks/demo.py"
        assert meta.output_path == "results/demo.ipynb"
        assert meta.parameters == {"factor": 2}
        assert meta.duration > 0 and meta.exception is None
        for cell in nb.cells:
            assert cell.metadata.papermill.status == "completed"
            assert cell.metadata.papermill.duration >= 0


@pytest.mark.parametrize("name", ENGINES)
def test_a_failing_cell_is_the_one_reported_not_an_allowed_error_before_it(
    name: str, tmp_path: Path
) -> None:
    nb = notebook("1 / 0", "x = 1", "[][x]", "print('never')", raises=0)
    with pytest.raises(CellFailure) as caught:
        get_engine(name).execute(nb, request(tmp_path))
    failure = caught.value
    assert (failure.index, failure.ename) == (2, "IndexError")
    assert "line 1" in failure.traceback
    assert nb.cells[0].outputs[0].ename == "ZeroDivisionError"
    assert nb.cells[2].metadata.papermill.status == "failed"
    assert nb.cells[3].outputs == []  # not executed
    assert nb.metadata.papermill.exception is True


def test_in_process_runs_leave_the_process_as_they_found_it(tmp_path: Path) -> None:
    before = (os.getcwd(), dict(os.environ), list(sys.path), sys.modules["__main__"])
    extra = tmp_path / "src"
    extra.mkdir()
    (extra / "helper_mod_xyz.py").write_text("VALUE = 42\n")
    nb = notebook(
        "import helper_mod_xyz, os\nos.environ['LEAK'] = '1'\nos.chdir('/')",
        "helper_mod_xyz.VALUE",
    )
    get_engine("inprocess").execute(nb, request(tmp_path, PYTHONPATH=str(extra)))
    assert nb.cells[1].outputs[0].data["text/plain"] == "42"
    assert (os.getcwd(), dict(os.environ), list(sys.path), sys.modules["__main__"]) == before
    second = notebook("'helper_mod_xyz' in dir()")
    get_engine("inprocess").execute(second, request(tmp_path))
    assert second.cells[0].outputs[0].data["text/plain"] == "False"  # a fresh namespace


@pytest.mark.parametrize("engine", ["nbrules", "nbrules-inprocess"])
def test_papermill_runs_notebooks_with_nbrules_engines(engine: str, tmp_path: Path) -> None:
    source = notebook("factor = 1", "print(factor * 21)")
    source.cells[0].metadata["tags"] = ["parameters"]
    source.metadata["kernelspec"] = {"name": "python3", "language": "python",
                                     "display_name": "Python 3"}
    nbformat.write(source, tmp_path / "in.ipynb")
    done = subprocess.run(
        [sys.executable, "-m", "papermill", "--engine", engine, "in.ipynb", "out.ipynb",
         "-p", "factor", "2", "--no-progress-bar"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False,
    )
    assert done.returncode == 0, done.stderr
    out = json.loads((tmp_path / "out.ipynb").read_text())
    assert "".join(out["cells"][-1]["outputs"][0]["text"]) == "42\n"
    assert out["metadata"]["papermill"]["parameters"] == {"factor": 2}


def test_papermill_reports_an_in_process_failure_with_its_banner(tmp_path: Path) -> None:
    source = notebook("x = 1", "raise ValueError('bad value')")
    source.metadata["kernelspec"] = {"name": "python3", "language": "python",
                                     "display_name": "Python 3"}
    nbformat.write(source, tmp_path / "in.ipynb")
    done = subprocess.run(
        [sys.executable, "-m", "papermill", "--engine", "nbrules-inprocess", "in.ipynb",
         "out.ipynb", "--no-progress-bar"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False,
    )
    assert done.returncode != 0
    assert "ValueError: bad value" in done.stderr
    out = (tmp_path / "out.ipynb").read_text()
    assert "An Exception was encountered" in out and "papermill-error-cell-tag" in out


def test_the_failed_notebook_shows_papermills_banner(tmp_path: Path) -> None:
    from nbrules.engines import mark_failure

    nb = notebook("x = 1", "[][x]")
    with pytest.raises(CellFailure) as caught:
        get_engine("inprocess").execute(nb, request(tmp_path))
    mark_failure(nb, caught.value.index)
    tags = [cell.metadata.get("tags") for cell in nb.cells]
    assert tags[0] == tags[2] == ["papermill-error-cell-tag"]
    assert "In [2]" in nb.cells[0].source
    assert nb.cells[3].source == "[][x]"


def test_matplotlib_backend_is_inline_only_when_the_caller_chose_none(tmp_path: Path) -> None:
    nb = notebook("import os\nos.environ['MPLBACKEND']")
    get_engine("inprocess").execute(nb, request(tmp_path, MPLBACKEND="agg"))
    assert nb.cells[0].outputs[0].data["text/plain"] == "'agg'"
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}
    nb = notebook("import os\nos.environ['MPLBACKEND']")
    get_engine("inprocess").execute(nb, EngineRequest(tmp_path, "python3", env))
    assert "matplotlib_inline" in nb.cells[0].outputs[0].data["text/plain"]


def test_unknown_engine_is_refused() -> None:
    with pytest.raises(KeyError):
        get_engine("threads")


def test_source_text_is_kept(tmp_path: Path) -> None:
    code = textwrap.dedent(
        """\
        def f():
            return 1
        f()"""
    )
    nb = notebook(code)
    get_engine("inprocess").execute(nb, request(tmp_path))
    assert nb.cells[0].source == code
    assert nb.cells[0].outputs[0].data["text/plain"] == "1"


def test_a_kernel_that_dies_starting_is_started_once_more_then_reported(
    tmp_path: Path,
) -> None:
    from nbrules.engines import KernelFailure

    shadow = tmp_path / "shadow"
    shadow.mkdir()
    starts = tmp_path / "starts.txt"
    (shadow / "ipykernel_launcher.py").write_text(
        f"open({str(starts)!r}, 'a').write('start\\n')\nraise SystemExit(3)\n")
    nb = notebook("print('never')")
    with pytest.raises(KernelFailure) as caught:
        get_engine("kernel").execute(nb, request(tmp_path, PYTHONPATH=str(shadow)))
    assert starts.read_text() == "start\nstart\n"  # one retry, no more
    assert "the kernel died" in caught.value.message
    assert "kernel.log" in caught.value.hint
    assert nb.cells[0].outputs == []


def test_a_kernel_launched_before_the_notebook_runs_it_and_is_stopped(tmp_path: Path) -> None:
    from nbrules.engines import start_engine

    engine = start_engine("kernel", request(tmp_path, FROM_ENV="launched-"))
    launched = engine.launched  # type: ignore[attr-defined]
    assert launched is not None and launched.manager.has_kernel
    process = launched.manager.provisioner.process
    nb = notebook("import os\nos.getpid()", "os.environ['FROM_ENV'] + os.getcwd()")
    engine.execute(nb, request(tmp_path, FROM_ENV="launched-"))
    assert nb.cells[0].outputs[0]["data"]["text/plain"] == str(process.pid)
    assert nb.cells[1].outputs[0]["data"]["text/plain"] == repr(f"launched-{tmp_path}")
    assert process.wait(timeout=30) is not None  # nbclient shut the launched kernel down


def test_a_launched_kernel_nobody_used_is_shut_down(tmp_path: Path) -> None:
    from nbrules.engines.launch import Launched

    launched = Launched.start(request(tmp_path))
    process = launched.manager.provisioner.process  # type: ignore[union-attr]
    launched.shutdown()
    assert process.wait(timeout=30) is not None
    assert launched.stderr is not None and launched.stderr.closed


def test_a_kernel_that_cannot_launch_early_is_reported_by_the_engine(tmp_path: Path) -> None:
    from nbrules.engines import KernelFailure, start_engine

    missing = EngineRequest(tmp_path, "no-such-kernel", dict(os.environ), tmp_path / "k.log")
    engine = start_engine("kernel", missing)
    with pytest.raises(KernelFailure, match="no Jupyter kernel named 'no-such-kernel'"):
        engine.execute(notebook("1"), missing)

"""Run one notebook: inject the resolved parameters, execute in a kernel, write outputs.

This is the only module that talks to nbclient/nbconvert. The :class:`Engine`
protocol is the seam: :class:`KernelEngine` runs a real Jupyter kernel; tests may
pass a fake.
"""

from __future__ import annotations

import contextlib
import copy
import os
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from .config import JobSpec
from .declarations import (
    INJECTED_TAG,
    NB_KEY,
    cell_lines,
    parameters_cell_index,
    read_notebook,
)
from .errors import ExecutionError
from .fsutil import atomic_write_bytes, atomic_write_text

if TYPE_CHECKING:
    import nbformat

THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
               "NUMEXPR_NUM_THREADS", "VECLIB_MAXIMUM_THREADS")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_CELL_LINE = re.compile(
    r"(?:Cell In\s*\[\d*\]|<ipython-input-[^>]*>|Input In \[\d*\]),? line (\d+)"
)


class Engine(Protocol):
    def execute(self, nb: nbformat.NotebookNode, cwd: Path, kernel: str) -> None:
        """Execute ``nb`` in place; raise :class:`CellFailure` on a failing cell."""


@dataclass(frozen=True, slots=True)
class CellFailure(Exception):
    """A cell raised: which cell (index in the executed notebook) and what."""

    index: int
    ename: str
    evalue: str
    traceback: str


class KernelEngine:
    """A real Jupyter kernel through nbclient.

    The kernel process's own stderr (ipykernel start-up warnings, a crash report)
    goes to ``kernel_log`` rather than the console; cell output stays in the notebook.
    """

    def __init__(self, kernel_log: Path | None = None) -> None:
        self.kernel_log = kernel_log

    def execute(self, nb: nbformat.NotebookNode, cwd: Path, kernel: str) -> None:
        from jupyter_client.kernelspec import NoSuchKernel
        from nbclient import NotebookClient
        from nbclient.exceptions import CellExecutionError, DeadKernelError

        client = NotebookClient(
            nb,
            kernel_name=kernel,
            timeout=None,
            resources={"metadata": {"path": str(cwd)}},
        )
        with contextlib.ExitStack() as stack:
            extra: dict[str, Any] = {}
            if self.kernel_log is not None:
                self.kernel_log.parent.mkdir(parents=True, exist_ok=True)
                extra["stderr"] = stack.enter_context(open(self.kernel_log, "wb"))
            try:
                client.execute(**extra)
            except CellExecutionError as exc:
                index = _failed_cell(nb)
                raise CellFailure(index, exc.ename, exc.evalue, str(exc.traceback)) from exc
            except NoSuchKernel as exc:
                raise KernelFailure(
                    f"no Jupyter kernel named {kernel!r}",
                    "install ipykernel in this environment or set nbrules: {kernel: NAME} "
                    "to one listed by `jupyter kernelspec list`",
                ) from exc
            except DeadKernelError as exc:
                raise KernelFailure(
                    f"the kernel died: {exc}",
                    "a notebook module shadowing the standard library, a crash or the "
                    f"memory limit; the kernel's stderr is in {self.kernel_log}",
                ) from exc


class KernelFailure(Exception):
    """The kernel could not start or died: not a cell's fault."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


def _failed_cell(nb: nbformat.NotebookNode) -> int:
    for index, cell in enumerate(nb.cells):
        if any(out.get("output_type") == "error" for out in cell.get("outputs", [])):
            return index
    return -1


def injected_source(spec: JobSpec, cwd: Path) -> str:
    """The injected cell: validated values as Python literals (``repr``), never pasted."""
    def absolute(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: absolute(v) for k, v in value.items()}
        return str((cwd / value).resolve())

    products = absolute(spec.products)
    lines = [
        "# Parameters injected by nbrules",
        f"upstream = {absolute(spec.upstream)!r}",
        f"product = {products[NB_KEY] if spec.single else products!r}",
    ]
    lines += [f"{name} = {value!r}" for name, value in spec.params.items()]
    return "\n".join(lines)


def inject(nb: nbformat.NotebookNode, source: str, path: Path) -> nbformat.NotebookNode:
    """Insert the injected cell right after ``parameters``; drop stale injected cells."""
    nb = copy.deepcopy(nb)
    nb.cells = [c for c in nb.cells if INJECTED_TAG not in c.metadata.get("tags", [])]
    index = parameters_cell_index(nb)
    if index is None:
        raise ExecutionError(
            "notebook has no cell tagged 'parameters'",
            path=path,
            hint='add a cell starting with: # %% tags=["parameters"]',
        )
    import nbformat  # imported on first use: cache-hit jobs never need it

    cell = nbformat.v4.new_code_cell(  # type: ignore[no-untyped-call]
        source, metadata={"tags": [INJECTED_TAG]}
    )
    nb.cells.insert(index + 1, cell)
    return nb


@dataclass(frozen=True, slots=True)
class RunResult:
    seconds: float
    notebook: Path


def run(spec: JobSpec, cwd: Path, engine: Engine | None = None) -> RunResult:
    """Execute the notebook of ``spec``; products exist on return, or none do."""
    source = cwd / spec.source
    text = source.read_text(encoding="utf-8")
    base = read_notebook(source, text)
    nb = inject(base, injected_source(spec, cwd), source)
    nb.metadata["kernelspec"] = {"name": spec.kernel, "display_name": spec.kernel,
                                 "language": "python"}
    products = {k: cwd / v for k, v in spec.products.items()}
    for path in products.values():
        path.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    try:
        with kernel_environment(spec, cwd):
            (engine or KernelEngine(kernel_log_path(spec, cwd))).execute(nb, cwd, spec.kernel)
    except CellFailure as failure:
        _remove(products.values())
        saved = failed_notebook_path(spec, cwd)
        write_notebook(nb, saved)
        raise ExecutionError(
            f"{failure.ename}: {failure.evalue}",
            path=spec.source,
            line=_failure_line(failure, nb, text),
            hint=f"the executed notebook with the full traceback is at {saved.relative_to(cwd)}",
        ) from None
    except KernelFailure as failure:
        _remove(products.values())
        raise ExecutionError(failure.message, path=spec.source, hint=failure.hint) from None
    except BaseException:
        _remove(products.values())
        raise
    seconds = time.perf_counter() - start
    executed = products.get(NB_KEY) or executed_notebook_path(spec, cwd)
    write_notebook(nb, executed)
    _check_products(spec, products)
    return RunResult(seconds, executed)


def executed_notebook_path(spec: JobSpec, cwd: Path) -> Path:
    """Where the executed notebook goes when the task declares no ``nb`` product."""
    return cwd / Path(spec.log).with_suffix(".ipynb")


def kernel_log_path(spec: JobSpec, cwd: Path) -> Path:
    """The kernel process's own stderr, beside the job's one-line log."""
    return cwd / Path(spec.log).with_suffix(".kernel.log")


def failed_notebook_path(spec: JobSpec, cwd: Path) -> Path:
    return cwd / Path(spec.log).with_suffix(".failed.ipynb")


def write_notebook(nb: nbformat.NotebookNode, path: Path) -> None:
    """``.html`` → rendered with nbconvert (figures embedded); else ``.ipynb`` JSON."""
    if path.suffix.lower() in (".html", ".htm"):
        from nbconvert import HTMLExporter

        exporter = HTMLExporter(embed_images=True)  # type: ignore[no-untyped-call]
        body, _ = exporter.from_notebook_node(nb)
        atomic_write_text(path, body)
    else:
        import nbformat

        text: str = nbformat.writes(nb)  # type: ignore[no-untyped-call]
        atomic_write_bytes(path, text.encode("utf-8"))


class kernel_environment:
    """Import path and thread limits for the kernel, restored afterwards."""

    def __init__(self, spec: JobSpec, cwd: Path) -> None:
        paths = [str((cwd / p).resolve()) for p in spec.pythonpath]
        old = os.environ.get("PYTHONPATH")
        self.values: dict[str, str] = {
            "PYTHONPATH": os.pathsep.join(paths + ([old] if old else [])),
        }
        threads = spec.engine.get("threads")
        if threads:
            self.values.update(dict.fromkeys(THREAD_VARS, str(threads)))
        self.saved: Mapping[str, str | None] = {}

    def __enter__(self) -> None:
        self.saved = {k: os.environ.get(k) for k in self.values}
        os.environ.update(self.values)

    def __exit__(self, *exc: object) -> None:
        for key, value in self.saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _failure_line(failure: CellFailure, nb: nbformat.NotebookNode, text: str) -> int:
    """The ``.py`` line of the failure: the failing cell's first line + line in cell."""
    if not 0 <= failure.index < len(nb.cells):
        return 1
    failed = nb.cells[failure.index]
    own = [cell for cell in nb.cells if INJECTED_TAG not in cell.metadata.get("tags", [])]
    starts = cell_lines(text, own)
    start = next((line for cell, line in zip(own, starts, strict=True) if cell is failed), 0)
    if not start:  # the injected cell failed: no line of the .py to blame
        return 1
    match = _CELL_LINE.search(_ANSI.sub("", failure.traceback))
    within = int(match.group(1)) if match else 1
    return start + within - 1


def _check_products(spec: JobSpec, products: Mapping[str, Path]) -> None:
    missing = [k for k, p in products.items() if not p.exists()]
    if missing:
        _remove(products.values())
        raise ExecutionError(
            f"notebook ran but did not write product '{missing[0]}' "
            f"({spec.products[missing[0]]})",
            path=spec.source,
            hint=f"write it to product[{missing[0]!r}] in the notebook",
        )


def _remove(paths: Any) -> None:
    for path in paths:
        if Path(path).is_file():
            Path(path).unlink()

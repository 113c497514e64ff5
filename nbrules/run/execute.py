"""Run one notebook: inject the resolved parameters, execute through an engine,
write the executed notebook; products exist on return, or none do.

A failing cell becomes an :class:`~nbrules.common.errors.ExecutionError` at the
``.py`` line of the failing statement, with the exception's name, value and
traceback, and the partial executed notebook is kept beside the job's log.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import shutil
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..common.errors import ExecutionError
from ..common.files import atomic_write_bytes, atomic_write_text
from ..common.notebooks import cell_lines, is_injected, read_notebook
from ..engines import (
    DEFAULT_ENGINE,
    CellFailure,
    Engine,
    EngineRequest,
    KernelFailure,
    mark_failure,
    start_engine,
)
from ..plan.declarations import NB_KEY
from ..plan.inject import inject, injected_source, injected_values
from ..plan.jobspec import JobSpec, progress_file
from ..plan.report import RENDERED
from .checks import run_checks
from .scripts import run_function, run_shell

if TYPE_CHECKING:
    import nbformat
    from nbconvert import HTMLExporter

THREAD_VARS = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
)
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_CELL_LINE = re.compile(
    r"(?:Cell In\s*\[\d*\]|<ipython-input-[^>]*>|Input In \[\d*\]),? line (\d+)"
)


@dataclass(frozen=True, slots=True)
class RunResult:
    seconds: float
    notebook: Path


def run(
    spec: JobSpec,
    cwd: Path,
    engine: Engine | str | None = None,
    threads: int = 0,
    environ: Mapping[str, str] | None = None,
) -> RunResult:
    """Execute the notebook of ``spec``; products exist on return, or none do.

    ``engine`` by name starts first (the kernel boots while the notebook is prepared)."""
    if spec.kind != "notebook":
        return _run_script(spec, cwd, threads, environ)
    products = {k: cwd / v for k, v in spec.products.items()}
    for path in products.values():
        path.parent.mkdir(parents=True, exist_ok=True)
    executed = products.get(NB_KEY) or executed_notebook_path(spec, cwd)
    request = EngineRequest(
        cwd,
        spec.kernel,
        kernel_env(spec, cwd, threads, environ),
        kernel_log_path(spec, cwd),
        source=spec.source,
        output=str(executed.relative_to(cwd)),
        parameters=injected_values(spec, cwd),
        progress=progress_path(spec, cwd),
    )
    warming = None
    if engine is None or isinstance(engine, str):
        name = engine or DEFAULT_ENGINE
        engine = start_engine(name, request)
        if name == "kernel" and (RENDERED in products or _is_html(executed)):
            warming = _warm_html_exporter()
    source = cwd / spec.source
    text = source.read_text(encoding="utf-8")
    nb = inject(read_notebook(source, text), injected_source(spec, cwd), source)
    nb.metadata["kernelspec"] = {
        "name": spec.kernel,
        "display_name": spec.kernel,
        "language": "python",
    }
    start = time.perf_counter()
    try:
        engine.execute(nb, request)
    except CellFailure as failure:
        _remove(products.values())
        saved = failed_notebook_path(spec, cwd)
        line = _failure_line(failure, nb, text)
        mark_failure(nb, failure.index)
        write_notebook(nb, saved)
        raise ExecutionError(
            f"{failure.ename}: {failure.evalue}",
            path=spec.source,
            line=line,
            hint=f"the executed notebook with the full traceback is at {saved.relative_to(cwd)}",
            ename=failure.ename,
            evalue=failure.evalue,
            traceback=failure.traceback,
        ) from None
    except KernelFailure as failure:
        _remove(products.values())
        raise ExecutionError(failure.message, path=spec.source, hint=failure.hint) from None
    except BaseException:
        _remove(products.values())
        raise
    seconds = time.perf_counter() - start
    if warming is not None:
        warming.join()
    write_notebook(nb, executed, spec.render)
    if RENDERED in products:  # the executed notebook as HTML, for Snakemake's report
        write_notebook(nb, products[RENDERED], spec.render)
    _check_products(spec, products)
    if spec.checks:
        _run_checks(spec, cwd, request.env, nb, [*products.values(), executed])
    return RunResult(seconds, executed)


def _run_script(
    spec: JobSpec, cwd: Path, threads: int, environ: Mapping[str, str] | None
) -> RunResult:
    """A Python-function or shell-script task (see :mod:`.scripts`)."""
    products = {k: cwd / v for k, v in spec.plain_products.items()}
    for path in products.values():
        path.parent.mkdir(parents=True, exist_ok=True)
    env = kernel_env(spec, cwd, threads, environ)
    start = time.perf_counter()
    try:
        if spec.kind == "function":
            if threads:  # the function runs here: limit this process's numeric libraries
                os.environ.update(dict.fromkeys(THREAD_VARS, str(threads)))
            run_function(spec, cwd)
        else:
            run_shell(spec, cwd, env)
    except BaseException:
        _remove(products.values())
        raise
    seconds = time.perf_counter() - start
    _check_products(spec, products)
    if spec.checks:
        try:
            run_checks(spec, cwd, env)
        except BaseException:
            _remove(products.values())
            raise
    return RunResult(seconds, cwd / spec.log)


def _run_checks(
    spec: JobSpec,
    cwd: Path,
    env: Mapping[str, str],
    nb: nbformat.NotebookNode,
    written: Iterable[Path],
) -> None:
    """The integrity checks; on a failure nothing written stays, the notebook is kept aside."""
    try:
        run_checks(spec, cwd, env)
    except BaseException:
        _remove(written)
        write_notebook(nb, failed_notebook_path(spec, cwd))
        raise


def kernel_env(
    spec: JobSpec, cwd: Path, threads: int = 0, environ: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The kernel's environment: ours, plus its import path and thread limits."""
    env = dict(os.environ if environ is None else environ)
    paths = [str((cwd / p).resolve()) for p in spec.pythonpath]
    old = env.get("PYTHONPATH")
    env["PYTHONPATH"] = os.pathsep.join(paths + ([old] if old else []))
    if threads:
        env.update(dict.fromkeys(THREAD_VARS, str(threads)))
    return env


def executed_notebook_path(spec: JobSpec, cwd: Path) -> Path:
    """Where the executed notebook goes when the task declares no ``nb`` product."""
    return cwd / Path(spec.log).with_suffix(".ipynb")


def kernel_log_path(spec: JobSpec, cwd: Path) -> Path:
    """The kernel process's own stderr, beside the job's one-line log."""
    return cwd / Path(spec.log).with_suffix(".kernel.log")


def progress_path(spec: JobSpec, cwd: Path) -> Path:
    """``<cells done>/<cells>`` while the notebook runs (read by nbrules' console)."""
    return cwd / progress_file(spec.log)


def failed_notebook_path(spec: JobSpec, cwd: Path) -> Path:
    return cwd / Path(spec.log).with_suffix(".failed.ipynb")


def write_notebook(
    nb: nbformat.NotebookNode, path: Path, render: Mapping[str, bool] | None = None
) -> None:
    """``.html`` → rendered with nbconvert (figures embedded, ``render`` options such as
    ``exclude_input``); else ``.ipynb`` JSON."""
    if _is_html(path):
        body, _ = _html_exporter(tuple(sorted((render or {}).items()))).from_notebook_node(nb)
        atomic_write_text(path, body)
    else:
        import nbformat

        text: str = nbformat.writes(nb)
        atomic_write_bytes(path, text.encode("utf-8"))


def _is_html(path: Path) -> bool:
    return path.suffix.lower() in (".html", ".htm")


@functools.cache
def _html_exporter(options: tuple[tuple[str, bool], ...] = ()) -> HTMLExporter:
    """One exporter per job process: its first rendering compiles the templates (≈0.2 s)."""
    from nbconvert import HTMLExporter

    _find_nbconvert_data()
    return HTMLExporter(embed_images=True, **dict(options))  # type: ignore[no-untyped-call]


def _warm_html_exporter() -> threading.Thread:
    """Import nbconvert and render an empty notebook in the background: while a kernel
    runs the cells this process only waits, so the ≈0.4 s of imports and template
    compilation the HTML rendering costs on its first use overlap with the kernel."""

    def warm() -> None:
        import nbformat

        with contextlib.suppress(Exception):  # the real rendering reports any problem
            _html_exporter().from_notebook_node(nbformat.v4.new_notebook())

    thread = threading.Thread(target=warm, name="nbrules-warm-html", daemon=True)
    thread.start()
    return thread


def _find_nbconvert_data() -> None:
    """Add the data folder where nbconvert itself is installed to this job process's
    ``JUPYTER_PATH``: a virtualenv made with ``--system-site-packages`` imports nbconvert
    from the base prefix, but Jupyter's data path lists only the virtualenv's own
    ``share/jupyter``, so nbconvert would not find its ``lab`` template."""
    import nbconvert
    from jupyter_core.paths import jupyter_path

    data = Path(nbconvert.__file__).resolve().parents[4] / "share" / "jupyter"
    known = {Path(p).resolve() for p in jupyter_path() if Path(p).exists()}
    if (data / "nbconvert" / "templates").is_dir() and data.resolve() not in known:
        extra = os.environ.get("JUPYTER_PATH")
        os.environ["JUPYTER_PATH"] = os.pathsep.join(filter(None, [extra, str(data)]))


def _failure_line(failure: CellFailure, nb: nbformat.NotebookNode, text: str) -> int:
    """The ``.py`` line of the failure: the failing cell's first line + line in cell."""
    if not 0 <= failure.index < len(nb.cells):
        return 1
    failed = nb.cells[failure.index]
    own = [cell for cell in nb.cells if not is_injected(cell)]
    starts = cell_lines(text, own)
    start = next((line for cell, line in zip(own, starts, strict=True) if cell is failed), 0)
    if not start:  # the injected cell failed: no line of the .py to blame
        return 1
    match = _CELL_LINE.search(_ANSI.sub("", failure.traceback))
    within = int(match.group(1)) if match else 1
    return start + within - 1


def _check_products(spec: JobSpec, products: Mapping[str, Path]) -> None:
    """Every product exists, as a folder exactly when it was declared one."""
    for name, path in products.items():
        shown = spec.plain_products[name]
        problem = _product_problem(name, shown, path, name in spec.folders, spec.kind)
        if problem is not None:
            _remove(products.values())
            message, hint = problem
            raise ExecutionError(message, path=spec.source, hint=hint)


def _product_problem(
    name: str, shown: str, path: Path, folder: bool, who: str = "notebook"
) -> tuple[str, str] | None:
    if not path.exists():
        what = "folder " if folder else ""
        return (
            f"{who} ran but did not write {what}product '{name}' ({shown})",
            f"write it to product[{name!r}] in the {who}",
        )
    if folder and not path.is_dir():
        return (
            f"product '{name}' ({shown}) is declared as a folder, but the {who} wrote a file",
            "write a folder there, or declare a file: no trailing '/' (in pipeline.yaml, "
            "a path with a suffix such as .bin; a path without one is a folder)",
        )
    if not folder and path.is_dir():
        return (
            f"product '{name}' ({shown}) is a folder, but it is declared as a file",
            f"declare it as a folder with a trailing '/': \"{shown}/\"",
        )
    return None


def _remove(paths: Iterable[Path]) -> None:
    """Remove what a failed run wrote of its products (files and folders)."""
    for path in paths:
        if path.is_symlink() or path.is_file():
            path.unlink()
        elif path.is_dir():
            shutil.rmtree(path, ignore_errors=True)

"""Notebooks through papermill's engine API: prepare, execute, find the failed cell.

:class:`PapermillEngine` is what the run layer calls. It records papermill's
notebook metadata (input and output path, parameters), registers nbrules' engines
in papermill's registry when its entry points are not installed (a source
checkout), and executes through ``papermill_engines.execute_notebook_with_engine`` —
the same call ``papermill.execute_notebook`` makes. Papermill's own error scan is
not used: it blames the first cell with an error output, which may be an earlier
cell tagged ``raises-exception``; papermill's engine manager marks the cell that
really failed (``status: failed``), and that is the one reported.

Papermill imports its engine entry points half-way through importing
``papermill.execute``, so they name lazy stand-ins in :mod:`nbrules.engines`, and
``papermill.execute`` is imported here only inside functions.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from papermill.engines import NotebookExecutionManager, papermill_engines
from papermill.exceptions import PapermillException
from papermill.version import version as papermill_version

from . import ENGINES, CellFailure, EngineRequest, KernelFailure, papermill_engine

if TYPE_CHECKING:
    import nbformat

    from .launch import Launched


def register() -> None:
    """nbrules' engines in papermill's registry (entry points cover installed copies);
    the stand-ins import an engine's module (IPython for in-process) only when used."""
    for ours, name in ENGINES.items():
        try:
            papermill_engines.get_engine(name)
        except PapermillException:
            papermill_engines.register(name, papermill_engine[ours])


class PapermillEngine:
    """An nbrules engine: the papermill engine ``name`` behind nbrules' engine seam."""

    def __init__(self, name: str, launched: Launched | None = None) -> None:
        self.name = name
        self.launched = launched

    def execute(self, nb: nbformat.NotebookNode, request: EngineRequest) -> None:
        from jupyter_client.kernelspec import NoSuchKernel
        from nbclient.exceptions import DeadKernelError

        register()
        prepare(nb, request)
        for attempt in (1, 2):
            launched, self.launched = self.launched, None  # a second attempt starts anew
            try:
                self._execute(nb, request, launched)
                break
            except NoSuchKernel as exc:
                raise KernelFailure(
                    f"no Jupyter kernel named {request.kernel!r}",
                    "install ipykernel in this environment or set nbrules: {kernel: NAME} "
                    "to one listed by `jupyter kernelspec list`",
                ) from exc
            except (DeadKernelError, RuntimeError) as exc:
                if attempt == 1 and not _started(nb):
                    continue  # the kernel died starting, before any cell: start another
                raise KernelFailure(
                    f"the kernel died: {exc}",
                    "a notebook module shadowing the standard library, a crash or the "
                    f"memory limit; the kernel's stderr is in {request.log}",
                ) from exc
        failure = failed_cell(nb)
        if failure is not None:
            raise failure

    def _execute(
        self, nb: nbformat.NotebookNode, request: EngineRequest, launched: Launched | None
    ) -> None:
        extra = {}
        if launched is not None:
            launched.handed_over()
            extra["kernel_manager"] = launched.manager
        try:
            with contextlib.chdir(request.cwd), _progress(request.progress) as progress_bar:
                papermill_engines.execute_notebook_with_engine(
                    self.name,
                    nb,
                    kernel_name=request.kernel,
                    progress_bar=progress_bar,
                    autosave_cell_every=0,
                    kernel_env=dict(request.env),
                    kernel_stderr=str(request.log) if request.log is not None else None,
                    **extra,
                )
        finally:
            if launched is not None:
                launched.close()


@contextlib.contextmanager
def _progress(path: Path | None) -> Iterator[dict[str, object] | bool]:
    """Papermill's per-cell progress bar, written as ``done/total`` to ``path``."""
    if path is None:
        yield False
        return
    try:
        yield {"file": _ProgressFile(path), "bar_format": "{n}/{total}", "mininterval": 0}
    finally:
        path.unlink(missing_ok=True)


class _ProgressFile:
    """What tqdm writes (``\r3/12``), kept as the file's whole content."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def write(self, text: str) -> int:
        count = text.strip("\r\n ")
        if count:
            with contextlib.suppress(OSError):  # progress is a courtesy, never a failure
                self.path.write_text(count, encoding="utf-8")
        return len(text)

    def flush(self) -> None:
        pass


def _started(nb: nbformat.NotebookNode) -> bool:
    """Whether any cell began executing (papermill set its ``start_time``)."""
    return any(c.metadata.get("papermill", {}).get("start_time") for c in nb.cells)


def prepare(nb: nbformat.NotebookNode, request: EngineRequest) -> None:
    """Papermill's notebook and cell metadata, as ``papermill.execute_notebook`` sets it."""
    from papermill.execute import remove_error_markers

    remove_error_markers(nb)
    nb.metadata["papermill"] = {
        "default_parameters": {},
        "parameters": dict(request.parameters),
        "environment_variables": {},
        "version": papermill_version,
        "input_path": request.source or None,
        "output_path": request.output or None,
    }
    for cell in nb.cells:
        cell.metadata.setdefault("tags", [])
        cell.metadata["papermill"] = {}


def failed_cell(nb: nbformat.NotebookNode) -> CellFailure | None:
    """The cell papermill's manager marked failed, with its (last) error output."""
    for index, cell in enumerate(nb.cells):
        if cell.metadata.get("papermill", {}).get("status") != NotebookExecutionManager.FAILED:
            continue
        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        if not errors:
            return CellFailure(index, "CellExecutionError", "the cell did not finish", "")
        error = errors[-1]
        return CellFailure(index, error.ename, error.evalue, "\n".join(error.traceback))
    return None


def mark_failure(nb: nbformat.NotebookNode, index: int) -> None:
    """Papermill's banner on top, and its anchor right before the failed cell."""
    import nbformat
    from papermill.execute import ERROR_ANCHOR_MSG, ERROR_MARKER_TAG, ERROR_MESSAGE_TEMPLATE

    count = nb.cells[index].get("execution_count") if 0 <= index < len(nb.cells) else None
    top = nbformat.v4.new_markdown_cell(ERROR_MESSAGE_TEMPLATE % str(count))
    anchor = nbformat.v4.new_markdown_cell(ERROR_ANCHOR_MSG)
    for cell in (top, anchor):
        cell.metadata["tags"] = [ERROR_MARKER_TAG]
    nb.cells.insert(max(index, 0), anchor)
    nb.cells.insert(0, top)

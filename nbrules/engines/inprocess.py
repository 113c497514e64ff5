"""The in-process engine (papermill engine ``nbrules-inprocess``): cells run in this
process through IPython's shell, with no Jupyter kernel to start.

What a kernel would send as messages is written straight into the cell's outputs,
in order: ``stream`` outputs for ``sys.stdout``/``sys.stderr`` (consecutive writes
merged), ``display_data`` for ``display()`` and figures, ``execute_result`` for a
cell's last expression, ``error`` with IPython's traceback (``Cell In[3], line 5``).
Matplotlib uses the inline backend, as in ipykernel (``$MPLBACKEND`` is set unless the
caller set one), so a figure is displayed when its cell ends. Each notebook gets a
fresh shell (fresh ``__main__`` namespace, in-memory history); the job's ``__main__``
module, working directory, environment, ``sys.path`` and streams are restored
afterwards.

What it cannot do like a kernel: output written to file descriptors 1 and 2 by
subprocesses or C code goes to the job's own stdout/stderr, not into the notebook;
a crash (segfault, ``os._exit``) ends the job, not only a kernel.
"""

from __future__ import annotations

import base64
import contextlib
import io
import os
import sys
from collections.abc import Iterator, Mapping
from typing import Any

import nbformat
from IPython.core.displayhook import DisplayHook
from IPython.core.displaypub import DisplayPublisher
from IPython.core.interactiveshell import InteractiveShell
from papermill.engines import Engine, NotebookExecutionManager
from traitlets.config import Config

INLINE = "module://matplotlib_inline.backend_inline"


class InProcessEngine(Engine):  # type: ignore[misc]
    """Papermill engine ``nbrules-inprocess``."""

    @classmethod
    def execute_managed_notebook(
        cls,
        nb_man: NotebookExecutionManager,
        kernel_name: str,
        kernel_env: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> Any:
        with _process_state(kernel_env), _shell() as shell:
            for index, cell in enumerate(nb_man.nb.cells):
                try:
                    nb_man.cell_start(cell, index)
                    if cell.cell_type == "code" and not run_cell(shell, cell):
                        nb_man.cell_exception(cell, cell_index=index)
                        break
                finally:
                    nb_man.cell_complete(cell, cell_index=index)
            nb_man.nb.metadata["language_info"] = _language_info()
        return nb_man.nb


def run_cell(shell: _ZMQLikeShell, cell: nbformat.NotebookNode) -> bool:
    """Run one code cell into its outputs; False when it raised and may not."""
    cell.outputs = shell.outputs = []
    out, err = _Stream(shell, "stdout"), _Stream(shell, "stderr")
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        result = shell.run_cell(cell.source, store_history=True)  # type: ignore[no-untyped-call]
    cell.execution_count = result.execution_count
    if result.success:
        return True
    return "raises-exception" in cell.metadata.get("tags", [])


class _Stream(io.TextIOBase):
    """``sys.stdout`` / ``sys.stderr`` of a cell: writes become ``stream`` outputs."""

    def __init__(self, shell: _ZMQLikeShell, name: str) -> None:
        self.shell = shell
        self.name = name

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        if not text:
            return 0
        outputs = self.shell.outputs
        last = outputs[-1] if outputs else None
        if last is not None and last.output_type == "stream" and last.name == self.name:
            last.text += text
        else:
            outputs.append(nbformat.v4.new_output("stream", name=self.name, text=text))
        return len(text)


class _Publisher(DisplayPublisher):
    """``display()``: a ``display_data`` output of the running cell."""

    def publish(
        self,
        data: dict[str, Any],
        metadata: dict[str, Any] | None = None,
        source: Any = None,
        *,
        transient: dict[str, Any] | None = None,
        update: bool = False,
        **kwargs: Any,
    ) -> None:
        output = nbformat.v4.new_output(
            "display_data", data=_jsonable(data), metadata=metadata or {}
        )
        if transient:
            output["transient"] = transient
        if update and transient and "display_id" in transient:
            for earlier in _outputs(self.shell):
                if earlier.get("transient", {}).get("display_id") == transient["display_id"]:
                    earlier.data, earlier.metadata = output.data, output.metadata
            return
        _outputs(self.shell).append(output)

    def clear_output(self, wait: bool = False) -> None:
        _outputs(self.shell).clear()


class _DisplayHook(DisplayHook):
    """A cell's last expression: its ``execute_result`` output."""

    def start_displayhook(self) -> None:
        self.result: dict[str, Any] = {"data": {}, "metadata": {}}

    def write_output_prompt(self) -> None:
        pass

    def write_format_data(self, format_dict: dict[str, Any], md_dict: Any = None) -> None:
        self.result = {"data": _jsonable(format_dict), "metadata": md_dict or {}}

    def finish_displayhook(self) -> None:
        _outputs(self.shell).append(
            nbformat.v4.new_output(
                "execute_result", execution_count=self.prompt_count, **self.result
            )
        )


class _ZMQLikeShell(InteractiveShell):
    """IPython's shell, its displays and errors written into the current cell.

    pandas lays out a DataFrame's ``text/plain`` for a notebook (80 columns, wrapped)
    only when ``"zmq"`` is in the shell's type name (``in_ipython_frontend``), as for
    ipykernel's ``ZMQInteractiveShell``; else for the terminal's size, elided. So the
    shell's name says zmq, though no ZeroMQ is involved: its outputs go to a notebook.
    Likewise pandas picks its notebook defaults (20 columns) at import when the shell
    has a ``kernel`` attribute; there is no kernel, so it is ``None``.
    """

    kernel = None

    displayhook_class = _DisplayHook
    display_pub_class = _Publisher
    outputs: list[Any]

    def init_io(self) -> None:  # no terminal to set up
        pass

    def enable_gui(self, gui: str | None = None) -> None:  # inline figures need no GUI loop
        pass

    def _showtraceback(self, etype: type, evalue: BaseException, stb: Any) -> None:
        # ``stb`` is a list of lines; IPython releases annotate it as list[str] or str.
        self.outputs.append(
            nbformat.v4.new_output(
                "error", ename=etype.__name__, evalue=str(evalue), traceback=list(stb)
            )
        )


@contextlib.contextmanager
def _shell() -> Iterator[_ZMQLikeShell]:
    """A fresh shell as ``get_ipython()`` (the inline backend registers with it)."""
    config = Config()
    config.HistoryManager.hist_file = ":memory:"
    main = sys.modules.get("__main__")
    _ZMQLikeShell.clear_instance()
    shell = _ZMQLikeShell.instance(config=config)
    shell.outputs = []
    if "matplotlib" in sys.modules and os.environ.get("MPLBACKEND") == INLINE:
        shell.enable_matplotlib("inline")  # type: ignore[no-untyped-call]  # matplotlib read $MPLBACKEND already
    try:
        with _pandas_as_in_a_notebook():
            yield shell
    finally:
        if shell.history_manager is not None:
            shell.history_manager.end_session()
        _ZMQLikeShell.clear_instance()
        InteractiveShell.clear_instance()
        if main is not None:
            sys.modules["__main__"] = main


@contextlib.contextmanager
def _pandas_as_in_a_notebook() -> Iterator[None]:
    """pandas imported before the shell existed took terminal defaults: a kernel's
    for this notebook (``display.max_columns`` 20, ``display.width`` 80)."""
    pandas = sys.modules.get("pandas")
    if pandas is None:
        yield
        return
    with pandas.option_context("display.max_columns", 20, "display.width", 80):
        yield


@contextlib.contextmanager
def _process_state(env: Mapping[str, str] | None) -> Iterator[None]:
    """The kernel's environment for this process; everything restored afterwards."""
    saved_env, saved_path = dict(os.environ), list(sys.path)
    stdout, stderr = sys.stdout, sys.stderr
    try:
        if env is not None:
            os.environ.clear()
            os.environ.update(env)
        os.environ.setdefault("MPLBACKEND", INLINE)
        extra = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
        sys.path[:0] = [p for p in extra if p not in sys.path]
        sys.path.insert(0, "")  # as in a kernel: the working directory imports first
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved_env)
        sys.path[:] = saved_path
        sys.stdout, sys.stderr = stdout, stderr


def _outputs(shell: object) -> list[Any]:
    """The running cell's outputs (a display hook's shell is typed ``Any | None``)."""
    assert isinstance(shell, _ZMQLikeShell)
    return shell.outputs


def _jsonable(data: Mapping[str, Any]) -> dict[str, Any]:
    """Binary representations (PNG, JPEG) base64-encoded, as a kernel sends them."""
    return {
        mime: base64.b64encode(value).decode("ascii") if isinstance(value, bytes) else value
        for mime, value in data.items()
    }


def _language_info() -> dict[str, Any]:
    version = ".".join(map(str, sys.version_info[:3]))
    return {
        "codemirror_mode": {"name": "ipython", "version": 3},
        "file_extension": ".py",
        "mimetype": "text/x-python",
        "name": "python",
        "nbconvert_exporter": "python",
        "pygments_lexer": "ipython3",
        "version": version,
    }

"""The kernel engine: a real Jupyter kernel through nbclient.

The kernel process's own stderr (ipykernel start-up warnings, a crash report) goes
to the request's log file rather than the console; cell output stays in the
notebook. The failing cell is the one nbclient was executing when it raised — not
the first cell with an error output, which may be an earlier ``raises-exception``
cell.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import CellFailure, EngineRequest, KernelFailure

if TYPE_CHECKING:
    import nbformat


class KernelEngine:
    def __init__(self, log: Path | None = None) -> None:
        self.log = log

    def execute(self, nb: nbformat.NotebookNode, request: EngineRequest) -> None:
        from jupyter_client.kernelspec import NoSuchKernel
        from nbclient.exceptions import CellExecutionError, DeadKernelError

        client = _client_class()(
            nb,
            kernel_name=request.kernel,
            timeout=None,
            resources={"metadata": {"path": str(request.cwd)}},
        )
        log = request.log or self.log
        with contextlib.ExitStack() as stack:
            extra: dict[str, Any] = {"env": dict(request.env), "cwd": str(request.cwd)}
            if log is not None:
                log.parent.mkdir(parents=True, exist_ok=True)
                extra["stderr"] = stack.enter_context(open(log, "wb"))
            try:
                client.execute(**extra)
            except CellExecutionError as exc:
                raise CellFailure(
                    client.current_index, exc.ename, exc.evalue, str(exc.traceback)
                ) from exc
            except NoSuchKernel as exc:
                raise KernelFailure(
                    f"no Jupyter kernel named {request.kernel!r}",
                    "install ipykernel in this environment or set nbrules: {kernel: NAME} "
                    "to one listed by `jupyter kernelspec list`",
                ) from exc
            except DeadKernelError as exc:
                raise KernelFailure(
                    f"the kernel died: {exc}",
                    "a notebook module shadowing the standard library, a crash or the "
                    f"memory limit; the kernel's stderr is in {log}",
                ) from exc


def _client_class() -> Any:
    from nbclient import NotebookClient

    class TrackingClient(NotebookClient):
        """Remembers which cell is executing, for the failure's line."""

        current_index = -1

        async def async_execute_cell(
            self, cell: Any, cell_index: int, *args: Any, **kwargs: Any
        ) -> Any:
            self.current_index = cell_index
            return await super().async_execute_cell(cell, cell_index, *args, **kwargs)

    return TrackingClient

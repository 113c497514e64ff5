"""A kernel launched before its notebook is ready, so that it boots while the job
imports papermill and nbformat, reads the notebook and injects its parameters.

A Jupyter kernel takes ≈1 s to answer its first request, and launching it is only a
process start: the kernel engine therefore launches it first (:meth:`Launched.start`)
and hands the running kernel to nbclient, which then only waits for it to be ready.
This module imports jupyter_client only; papermill, nbclient and nbformat are not
needed to launch. A kernel that is never handed over is shut down at exit.
"""

from __future__ import annotations

import atexit
import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    from jupyter_client.manager import AsyncKernelManager

    from . import EngineRequest

#: What nbclient passes an IPython kernel (no history database per job).
_HISTORY = "--HistoryManager.hist_file=:memory:"


@dataclass(slots=True)
class Launched:
    """A launched kernel, its manager, and the open file its stderr goes to."""

    manager: AsyncKernelManager
    stderr: IO[bytes] | None

    @classmethod
    def start(cls, request: EngineRequest) -> Launched:
        """Launch the kernel of ``request`` in its cwd and environment; do not wait for it."""
        from jupyter_client.manager import AsyncKernelManager
        from jupyter_core.utils import run_sync

        manager = AsyncKernelManager(kernel_name=request.kernel)
        stderr = None
        if request.log is not None:
            Path(request.log).parent.mkdir(parents=True, exist_ok=True)
            stderr = open(request.log, "wb")  # noqa: SIM115 - closed by close()
        extra = [_HISTORY] if manager.ipykernel else []
        try:
            run_sync(manager.start_kernel)(
                extra_arguments=extra, cwd=str(request.cwd), env=dict(request.env), stderr=stderr
            )
        except BaseException:
            if stderr is not None:
                stderr.close()
            raise
        launched = cls(manager, stderr)
        atexit.register(launched.shutdown)
        return launched

    def handed_over(self) -> None:
        """nbclient owns the kernel now (it shuts it down): only the stderr file is ours."""
        atexit.unregister(self.shutdown)

    def close(self) -> None:
        if self.stderr is not None:
            self.stderr.close()

    def shutdown(self) -> None:
        """Stop a kernel nobody used (the job failed before executing)."""
        from jupyter_core.utils import run_sync

        with contextlib.suppress(Exception):
            run_sync(self.manager.shutdown_kernel)(now=True)
        self.close()

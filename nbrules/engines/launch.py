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
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    from jupyter_client.manager import AsyncKernelManager

    from . import EngineRequest

#: What nbclient passes an IPython kernel (no history database per job).
_HISTORY = "--HistoryManager.hist_file=:memory:"
_SOCKET_ROOM = 90  # bytes left for the folder of "kernel-5"-style socket paths


def local_transport(sockets: str) -> dict[str, str]:
    """KernelManager settings for a local kernel over Unix sockets in ``sockets``.

    ZeroMQ ``ipc`` in a private folder rather than TCP on localhost: nothing else on
    the machine can connect, and ipykernel has no reason to warn that the kernel "is
    running over TCP without encryption" in every kernel log. A socket path has a
    length limit (~107 bytes): under a long ``$TMPDIR`` the kernel keeps TCP.
    """
    return {"transport": "ipc", "ip": f"{sockets}/kernel"} if len(sockets) < _SOCKET_ROOM else {}


@dataclass(slots=True)
class Launched:
    """A launched kernel, its manager, and the open file its stderr goes to."""

    manager: AsyncKernelManager
    stderr: IO[bytes] | None
    #: The private folder of the kernel's sockets, removed by :meth:`close`.
    sockets: str = field(default="")

    @classmethod
    def start(cls, request: EngineRequest) -> Launched:
        """Launch the kernel of ``request`` in its cwd and environment; do not wait for it."""
        from jupyter_client.manager import AsyncKernelManager
        from jupyter_core.utils import run_sync

        sockets = tempfile.mkdtemp(prefix="nbrules-kernel-")
        manager = AsyncKernelManager(kernel_name=request.kernel, **local_transport(sockets))
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
            shutil.rmtree(sockets, ignore_errors=True)
            raise
        launched = cls(manager, stderr, sockets)
        atexit.register(launched.shutdown)
        return launched

    def handed_over(self) -> None:
        """nbclient owns the kernel now (it shuts it down): only the stderr file is ours."""
        atexit.unregister(self.shutdown)

    def close(self) -> None:
        if self.stderr is not None:
            self.stderr.close()
        if self.sockets:
            shutil.rmtree(self.sockets, ignore_errors=True)

    def shutdown(self) -> None:
        """Stop a kernel nobody used (the job failed before executing)."""
        from jupyter_core.utils import run_sync

        with contextlib.suppress(Exception):
            run_sync(self.manager.shutdown_kernel)(now=True)
        self.close()

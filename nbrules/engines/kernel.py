"""The kernel engine (papermill engine ``nbrules``): papermill's nbclient engine,
but the kernel is started with the request's environment and working directory,
and the kernel process's own stderr (ipykernel start-up warnings, a crash report)
goes to the job's kernel log rather than the console; cell output stays in the
notebook.

The kernel talks to its client over Unix sockets (ZeroMQ ``ipc``) in a private
folder rather than over TCP on localhost: nothing else on the machine can connect,
and ipykernel has no reason to warn that the kernel "is running over TCP without
encryption" in every kernel log.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from pathlib import Path
from typing import Any

from papermill.clientwrap import PapermillNotebookClient
from papermill.engines import NBClientEngine, NotebookExecutionManager
from papermill.log import logger
from traitlets.config import Config

from .launch import local_transport


class KernelEngine(NBClientEngine):  # type: ignore[misc]
    """Papermill engine ``nbrules``: nbclient, with the kernel's env, cwd and stderr."""

    @classmethod
    def execute_managed_notebook(
        cls,
        nb_man: NotebookExecutionManager,
        kernel_name: str,
        log_output: bool = False,
        stdout_file: Any = None,
        stderr_file: Any = None,
        start_timeout: float = 60,
        execution_timeout: float | None = None,
        kernel_env: dict[str, str] | None = None,
        kernel_stderr: str | None = None,
        kernel_manager: Any = None,
        **kwargs: Any,
    ) -> Any:
        sockets = tempfile.mkdtemp(prefix="nbrules-kernel-")
        try:
            return cls._run(
                nb_man,
                kernel_name,
                log_output,
                stdout_file,
                stderr_file,
                start_timeout,
                execution_timeout,
                kernel_env,
                kernel_stderr,
                kernel_manager,
                sockets,
            )
        finally:
            shutil.rmtree(sockets, ignore_errors=True)

    @staticmethod
    def _run(
        nb_man: NotebookExecutionManager,
        kernel_name: str,
        log_output: bool,
        stdout_file: Any,
        stderr_file: Any,
        start_timeout: float,
        execution_timeout: float | None,
        kernel_env: dict[str, str] | None,
        kernel_stderr: str | None,
        kernel_manager: Any,
        sockets: str,
    ) -> Any:
        # A private folder per kernel: ipc "ports" are files, numbered from 1 in it.
        local = Config({"KernelManager": local_transport(sockets)})
        client = PapermillNotebookClient(
            nb_man,
            km=kernel_manager,
            kernel_name=kernel_name,
            timeout=execution_timeout,
            startup_timeout=start_timeout,
            log=logger,
            log_output=log_output,
            stdout_file=stdout_file,
            stderr_file=stderr_file,
            config=local,
        )
        if kernel_manager is not None:  # launched already (nbrules.engines.launch): ours to stop
            return client.execute(cleanup_kc=True)
        start: dict[str, Any] = {"cwd": str(Path.cwd())}
        if kernel_env is not None:
            start["env"] = kernel_env
        with contextlib.ExitStack() as stack:
            if kernel_stderr is not None:
                Path(kernel_stderr).parent.mkdir(parents=True, exist_ok=True)
                start["stderr"] = stack.enter_context(open(kernel_stderr, "wb"))
            return client.execute(**start)

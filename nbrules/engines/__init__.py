"""Engines: execute a prepared notebook in place. The only layer that imports
nbclient, papermill or IPython.

An engine receives a notebook whose injected cell is already in place and an
:class:`EngineRequest` (working directory, kernel, the kernel's environment, where
its own stderr goes). It executes the cells in place, so outputs land in the
notebook, and raises :class:`CellFailure` for a failing cell (which cell, and the
exception's name, value and traceback) or :class:`KernelFailure` when the kernel
cannot start or dies. Mapping a failure to the ``.py`` line is the run layer's job.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import nbformat


@dataclass(frozen=True, slots=True)
class EngineRequest:
    """How to run one notebook: where, with which kernel and environment."""

    cwd: Path
    kernel: str
    env: Mapping[str, str] = field(default_factory=dict)
    log: Path | None = None


class Engine(Protocol):
    def execute(self, nb: nbformat.NotebookNode, request: EngineRequest) -> None:
        """Execute ``nb`` in place; raise :class:`CellFailure` on a failing cell."""


class CellFailure(Exception):
    """A cell raised: its index in the executed notebook, and what it raised."""

    def __init__(self, index: int, ename: str, evalue: str, traceback: str) -> None:
        super().__init__(f"cell {index}: {ename}: {evalue}")
        self.index = index
        self.ename = ename
        self.evalue = evalue
        self.traceback = traceback


class KernelFailure(Exception):
    """The kernel could not start or died: not a cell's fault."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


def get_engine(name: str, log: Path | None = None) -> Engine:
    """The engine registered as ``name`` (``kernel``)."""
    if name == "kernel":
        from .kernel import KernelEngine

        return KernelEngine(log)
    raise KeyError(name)

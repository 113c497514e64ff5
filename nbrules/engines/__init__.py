"""Engines: execute a prepared notebook in place. The only layer that imports
nbclient, papermill or IPython.

Both engines are **papermill engines** (papermill's registry, entry point group
``papermill.engine``), so ``papermill --engine nbrules-inprocess in.ipynb out.ipynb`` works
too, and every executed notebook carries papermill's metadata: per-cell start, end,
duration and status, the notebook's duration, and on a failure papermill's error
banner. The two differ only in where the cells run:

``kernel`` (papermill engine ``nbrules``)
    a real Jupyter kernel through nbclient, as papermill's own engine, plus what
    papermill's cannot do: the kernel gets its environment passed in (never this
    process's ``os.environ`` mutated) and its own stderr goes to the job's kernel log.
    Any kernel (another virtualenv, another language); a crash kills only the kernel.
``inprocess`` (papermill engine ``nbrules-inprocess``)
    the cells run in this process through IPython's shell, with no kernel to start:
    stdout/stderr, rich display data, matplotlib figures and errors land in the
    notebook as with a kernel. For Python notebooks of the job's own interpreter.

An engine receives a notebook whose injected cell is already in place and an
:class:`EngineRequest`. It raises :class:`CellFailure` for a failing cell (which
cell, and the exception's name, value and traceback) or :class:`KernelFailure` when
the kernel cannot start or dies. Mapping a failure to the ``.py`` line is the run
layer's job; :func:`mark_failure` then adds papermill's banner.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from ..plan.settings import DEFAULT_ENGINE, ENGINE_NAMES

if TYPE_CHECKING:
    import nbformat

    from .launch import Launched

__all__ = ["DEFAULT_ENGINE", "ENGINES", "CellFailure", "Engine", "EngineRequest", "KernelFailure"]

#: nbrules' engine names (config ``engine:``) → their papermill engine names.
ENGINES: Mapping[str, str] = {"kernel": "nbrules", "inprocess": "nbrules-inprocess"}
assert tuple(ENGINES) == ENGINE_NAMES


@dataclass(frozen=True, slots=True)
class EngineRequest:
    """How to run one notebook: where, with which kernel and environment.

    ``source`` and ``output`` are recorded in papermill's metadata (input and output
    path); ``parameters`` are the injected values, as papermill records its own.
    """

    cwd: Path
    kernel: str
    env: Mapping[str, str] = field(default_factory=dict)
    log: Path | None = None
    source: str = ""
    output: str = ""
    parameters: Mapping[str, object] = field(default_factory=dict)
    #: A small file the engine keeps at ``<cells done>/<cells>`` while it runs, for a
    #: console to show (nbrules' Snakemake logger); ``None``: no progress file.
    progress: Path | None = None


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


class _Registered:
    """A papermill engine class, imported when papermill first uses it.

    Papermill loads its ``papermill.engine`` entry points while its own modules are
    half imported; an engine module importing papermill at that moment would be
    half imported itself. The entry points name these stand-ins instead.
    """

    def __init__(self, module: str, name: str) -> None:
        self.module, self.name = module, name

    def __getattr__(self, attr: str) -> object:
        from importlib import import_module

        return getattr(getattr(import_module(self.module, __name__), self.name), attr)


papermill_kernel = _Registered(".kernel", "KernelEngine")
papermill_inprocess = _Registered(".inprocess", "InProcessEngine")
#: The papermill engine of each nbrules engine (what the entry points name).
papermill_engine: Mapping[str, _Registered] = {
    "kernel": papermill_kernel,
    "inprocess": papermill_inprocess,
}


def start_engine(name: str, request: EngineRequest) -> Engine:
    """The engine called ``name``, already starting what needs no notebook: the kernel
    engine launches its kernel (:mod:`.launch`), which boots while papermill is imported
    and the notebook is read and prepared. A kernel that cannot launch here is left to
    the engine, which reports it as usual."""
    if name not in ENGINES:
        raise KeyError(name)
    launched = None
    if name == "kernel":
        from .launch import Launched

        with contextlib.suppress(Exception):
            launched = Launched.start(request)
    return get_engine(name, launched)


def get_engine(name: str, launched: Launched | None = None) -> Engine:
    """The engine called ``name`` (a key of :data:`ENGINES`), given a kernel ``launched``
    for it already, if any."""
    from .managed import PapermillEngine

    if name not in ENGINES:
        raise KeyError(name)
    return PapermillEngine(ENGINES[name], launched)


def mark_failure(nb: nbformat.NotebookNode, index: int) -> None:
    """Papermill's error banner: a note on top linking to one before cell ``index``."""
    from .managed import mark_failure as mark

    mark(nb, index)

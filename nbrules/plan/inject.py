"""The injected cell: a notebook's resolved parameters, as the pipeline runs it.

Right after the cell tagged ``parameters``, nbrules inserts a cell tagged
``injected-parameters`` that rebinds ``upstream``, ``product`` and every parameter
to its resolved value — as Python literals (``repr`` of validated values), never by
pasting strings. A stale injected cell already in the source is dropped first.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..common.errors import ExecutionError
from ..common.notebooks import INJECTED_TAG, is_injected, parameters_cell_index
from .declarations import NB_KEY
from .jobspec import JobSpec
from .report import RENDERED

if TYPE_CHECKING:
    import nbformat


def injected_values(spec: JobSpec, cwd: Path) -> dict[str, Any]:
    """The injected names and values: absolute paths, then the parameter values."""

    def absolute(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: absolute(v) for k, v in value.items()}
        return str((cwd / value).resolve())

    products = absolute({k: v for k, v in spec.products.items() if k != RENDERED})
    return {
        "upstream": absolute(spec.upstream),
        "product": products[NB_KEY] if spec.single else products,
        **spec.params,
    }


def injected_source(spec: JobSpec, cwd: Path) -> str:
    """The injected cell's code: each value as its ``repr``."""
    lines = ["# Parameters injected by nbrules"]
    lines += [f"{name} = {value!r}" for name, value in injected_values(spec, cwd).items()]
    return "\n".join(lines)


def inject(nb: nbformat.NotebookNode, source: str, path: Path) -> nbformat.NotebookNode:
    """A copy of ``nb`` with the injected cell right after ``parameters``."""
    nb = copy.deepcopy(nb)
    nb.cells = [c for c in nb.cells if not is_injected(c)]
    index = parameters_cell_index(nb)
    if index is None:
        raise ExecutionError(
            "notebook has no cell tagged 'parameters'",
            path=path,
            hint='add a cell starting with: # %% tags=["parameters"]',
        )
    import nbformat  # imported on first use: cache-hit jobs never need it

    cell = nbformat.v4.new_code_cell(source, metadata={"tags": [INJECTED_TAG]})
    nb.cells.insert(index + 1, cell)
    return nb

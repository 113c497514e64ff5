"""nbrules: jupytext notebooks as Snakemake rules, cached by content.

In a Snakefile::

    import nbrules
    nbrules.include(workflow)

(or ``include: nbrules.snakefile`` plus a target rule of your own).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .declarations import Task, discover, read_declaration
from .errors import NbrulesError

__version__ = "0.1.0"

#: The packaged rules file to ``include:`` from a Snakefile.
snakefile = str(Path(__file__).with_name("notebooks.smk"))


def include(workflow: Any) -> None:
    """Define one rule per notebook in ``workflow`` (the Snakefile's global).

    Like ``include: nbrules.snakefile``, but the ``notebooks`` rule (every product)
    becomes the default target unless the Snakefile already defined a rule.
    """
    workflow.include(snakefile, overwrite_default_target=workflow.default_target is None)


__all__ = [
    "NbrulesError",
    "Task",
    "__version__",
    "discover",
    "include",
    "read_declaration",
    "snakefile",
]

"""nbrules: jupytext notebooks as Snakemake rules, cached by content.

In a Snakefile::

    import nbrules
    nbrules.include(workflow)

(or ``include: nbrules.snakefile`` plus a target rule of your own).

The package is layered, top to bottom (checked by import-linter, see
``pyproject.toml``): ``cli`` → ``ploomber`` (pipeline.yaml front end) →
``snakemake`` (the adapter, the only Snakemake importer) → ``run`` (one job) →
``engines`` (the only kernel/papermill/IPython importers) → ``plan`` (declarations,
graph, settings, keys) → ``cache`` (store, digests) → ``common`` (errors, files).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .common.errors import NbrulesError

__version__ = "0.2.0"

#: The packaged rules file to ``include:`` from a Snakefile.
snakefile = str(Path(__file__).parent / "snakemake" / "notebooks.smk")


def include(workflow: Any) -> None:
    """Define one rule per notebook in ``workflow`` (the Snakefile's global).

    Like ``include: nbrules.snakefile``, but the ``notebooks`` rule (every product)
    becomes the default target unless the Snakefile already defined a rule.
    """
    from .snakemake import include as include_rules

    include_rules(workflow)


def task(*, product: Any, upstream: Any = None) -> Any:
    """Declare a Python function as a pipeline task (Ploomber's ``PythonCallable``).

    In a module of the notebook folder::

        @nbrules.task(upstream=["get"], product={"data": "clean.csv"})
        def clean(product, upstream, factor=10): ...

    nbrules reads the arguments as literals without running the module (see
    :mod:`nbrules.plan.scripts`); here the decorator returns the function unchanged.
    """
    del product, upstream

    def keep(function: Any) -> Any:
        return function

    return keep


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    """For ``jupyter server extension enable nbrules`` (see :mod:`nbrules.jupyter`)."""
    return [{"module": "nbrules.jupyter"}]


__all__ = ["NbrulesError", "__version__", "include", "snakefile", "task"]

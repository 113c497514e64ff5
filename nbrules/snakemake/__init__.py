"""The Snakemake adapter: the only part of nbrules that imports Snakemake.

From a Snakefile::

    import nbrules
    nbrules.include(workflow)          # or: include: nbrules.snakefile

:func:`include` asks Snakemake to include the packaged ``notebooks.smk``, which
calls :func:`rules_for` to get one :class:`~.rules.RuleSpec` per notebook and
declares them with Snakemake's own ``rule:`` syntax. A front end that brings its
own tasks (``pipeline.yaml``) passes them to :func:`include`; they are held, keyed
by the ``workflow`` object, until ``notebooks.smk`` asks for them.

Snakemake knowledge lives here and in :mod:`.commandline` (its command line and
profiles); everything below (plan, run, cache) is plain Python.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..cache.store import ENV_BUILD, new_build_id
from ..common.errors import NbrulesError
from ..plan.declarations import Task
from ..plan.settings import ENV_ENGINES, ENV_FORCE, ENV_RUNTIME, Force
from . import recovery
from .commandline import requested_force
from .rules import RuleSpec, all_products, mark_cache_hits, rules_from_config

#: The packaged rules file, for ``include:`` in a Snakefile.
SNAKEFILE = str(Path(__file__).with_name("notebooks.smk"))


@dataclass(frozen=True, slots=True)
class _Source:
    tasks: Sequence[Task] | None
    basedir: Path | None


#: Tasks handed to :func:`include`, by ``id(workflow)`` (Snakemake's ``Workflow`` is
#: not hashable), until ``notebooks.smk`` — run inside that same call — takes them.
_SOURCES: dict[int, _Source] = {}


def include(
    workflow: Any, *, tasks: Sequence[Task] | None = None, basedir: Path | str | None = None
) -> None:
    """Define one rule per notebook in ``workflow`` (the Snakefile's global).

    Like ``include: nbrules.snakefile``, but the ``notebooks`` rule (every product)
    becomes the default target unless the Snakefile already defined a rule.
    ``tasks`` replaces discovery of the notebooks folder; ``basedir`` is the folder
    config paths are relative to (default: the Snakefile's).
    """
    _SOURCES[id(workflow)] = _Source(tasks, Path(basedir) if basedir is not None else None)
    try:
        workflow.include(SNAKEFILE, overwrite_default_target=workflow.default_target is None)
    finally:
        _SOURCES.pop(id(workflow), None)


def rules_for(workflow: Any, config: Mapping[str, Any]) -> list[RuleSpec]:
    """The rule specs of ``workflow`` (called by ``notebooks.smk``)."""
    from snakemake.exceptions import WorkflowError

    source = _SOURCES.pop(id(workflow), None) or _Source(None, None)
    cwd = Path.cwd()
    if getattr(workflow, "is_main_process", True):
        _recover(cwd)
    # One id per build for `nbrules cache stats`; jobs inherit it through the
    # environment. Never in rule params: those must be deterministic.
    os.environ.setdefault(ENV_BUILD, new_build_id())
    files = config_files(workflow)
    try:
        s, specs = rules_from_config(
            config, source.basedir or Path(workflow.basedir), source.tasks, files, cwd
        )
    except NbrulesError as error:
        raise WorkflowError(error.render()) from None
    os.environ[ENV_RUNTIME] = s.cache.to_env()
    os.environ[ENV_ENGINES] = s.engines.to_env()
    # Only the main process reads the command line: a cluster job's Snakemake is
    # started with --force for its own targets, and inherits $NBRULES_FORCE instead.
    if getattr(workflow, "is_main_process", True):
        force = forced(workflow, specs, cwd)
        os.environ[ENV_FORCE] = force.to_env()
        # A job whose cache key is already in the store runs locally: on a cluster, a
        # mere restore is never submitted.
        specs = mark_cache_hits(specs, s, cwd, force)
        from . import console  # what the logger plugin's summary counts

        console.declare({spec.name: console.Notebook(spec.task, spec.job.source) for spec in specs})
    return specs


def outputs(rule: RuleSpec) -> dict[str, Any]:
    """A rule's outputs: folders as Snakemake's ``directory()``, those of the report
    flagged with ``report()``."""
    from snakemake.io import directory, report

    flagged: dict[str, Any] = {
        name: directory(path) if name in rule.folders else path
        for name, path in rule.output.items()
    }
    for name, flag in rule.report.items():
        flagged[name] = report(flagged[name], caption=flag.caption, category=flag.category)
    return flagged


def forced(workflow: Any, specs: Sequence[RuleSpec], cwd: Path) -> Force:
    """The notebooks ``--forceall``, ``--forcerun`` and ``-f``/``--force`` name."""
    everything, named = requested_force()
    if everything:
        return Force(everything=True)
    by_rule = {spec.name: spec.task for spec in specs}
    by_file = {_normal(path, cwd): spec.task for spec in specs for path in spec.output.values()}
    tasks = {by_rule.get(name) or by_file.get(_normal(name, cwd)) for name in named}
    return Force(tasks=frozenset(task for task in tasks if task is not None))


def _normal(path: str, cwd: Path) -> str:
    return os.path.normpath(os.path.join(cwd, path))


def _recover(cwd: Path) -> None:
    """Before Snakemake takes its lock: remove one a killed Snakemake left, if safe."""
    from snakemake.logging import logger

    message = recovery.recover(cwd)
    if message is not None:
        logger.warning(message)


def config_files(workflow: Any) -> list[Path]:
    """The config files behind ``config``, lowest precedence first.

    The Snakefile's ``configfile:`` directives come first; ``--configfile`` (a
    profile's ``configfile:``) overrides them.
    """
    every = [Path(f) for f in getattr(workflow, "configfiles", [])]
    cli = [Path(f) for f in getattr(workflow, "overwrite_configfiles", []) or []]
    return [f for f in every if f not in cli] + cli


__all__ = ["SNAKEFILE", "RuleSpec", "all_products", "include", "outputs", "rules_for"]

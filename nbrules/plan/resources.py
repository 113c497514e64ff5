"""A notebook's ``resources`` → the rule's ``threads`` and Snakemake ``resources``.

A notebook declares what one run needs in its ``parameters`` cell, and config may
override it per notebook (``tasks: {fit-model: {resources: {...}}}``)::

    resources = {"threads": 4, "mem_mb": 8000, "runtime": 60, "partition": "long"}

Names are Snakemake's standard resources (``mem_mb``, ``runtime`` in minutes, …)
and those of the SLURM executor plugin (``slurm_partition``, ``slurm_extra``,
``gpu``, …). A few friendly aliases are accepted and renamed (``partition`` →
``slurm_partition``, ``gpus`` → ``gpu``, …). ``threads`` becomes the rule's
``threads``. Values are checked here, at the notebook's line, instead of failing
later inside Snakemake or ``sbatch``. An unknown name is passed on unchanged
(Snakemake allows custom resources, limited with ``--resources NAME=N``) with a
warning, and a did-you-mean when it looks like a typo.

Profiles still have the last word: ``default-resources`` fills what a notebook
leaves out, ``set-resources`` / ``set-threads`` override it per rule.

Config may also put notebooks in a Snakemake job group, so that connected small
notebooks run as one cluster job: ``tasks: {clean: {group: prep}}``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, NoReturn

from ..common.errors import ConfigError, DeclarationError
from ..common.text import closest
from .declarations import Task

#: Raises the error for one problem: ``fail(message, hint)``.
Fail = Callable[[str, str], NoReturn]

ALIASES: Mapping[str, str] = {
    "partition": "slurm_partition",
    "account": "slurm_account",
    "extra": "slurm_extra",
    "gpus": "gpu",
    "cpus": "threads",
}
#: Whole numbers, ``threads`` at least 1, the rest at least 0.
COUNTS = frozenset(
    {
        "threads",
        "mem_mb",
        "mem_mib",
        "disk_mb",
        "disk_mib",
        "gpu",
        "cpus_per_task",
        "cpus_per_gpu",
        "mem_mb_per_cpu",
        "nodes",
        "tasks",
        "tasks_per_node",
        "tasks_per_gpu",
    }
)
#: A whole number (MB / minutes) or a human-friendly string ("8GB", "1h30m").
SIZES = frozenset({"mem", "disk", "runtime"})
#: Passed to Snakemake / sbatch as text.
TEXTS = frozenset(
    {
        "slurm_partition",
        "slurm_account",
        "slurm_extra",
        "slurm_cluster",
        "clusters",
        "constraint",
        "qos",
        "gpu_model",
        "gres",
        "tmpdir",
        "mpi",
    }
)
KNOWN = COUNTS | SIZES | TEXTS
#: One memory/disk amount per rule: Snakemake rejects ``mem`` together with ``mem_mb``.
UNITS = (("mem", "mem_mb", "mem_mib"), ("disk", "disk_mb", "disk_mib"))


@dataclass(frozen=True, slots=True)
class RuleResources:
    """What a rule gets: its ``threads``, its other resources, warnings to show."""

    threads: int = 1
    resources: Mapping[str, int | str] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()


def rule_resources(task: Task, overrides: Mapping[str, Any] | None = None) -> RuleResources:
    """Merge a task's declared resources with config ``overrides`` and check them."""
    line = task.line_of("resources")
    declared, warnings = _normalise(
        task.resources, _declared_error(task, line), f"{task.source}:{line}"
    )
    where = f"config tasks.{task.name}.resources"
    changed, more = _normalise(overrides or {}, _config_error(where), where)
    merged = _drop_other_units(declared, changed)
    merged.update(changed)
    threads = merged.pop("threads", 1)
    return RuleResources(int(threads), merged, (*warnings, *more))


def _normalise(
    values: Mapping[str, Any], error: Fail, where: str
) -> tuple[dict[str, int | str], list[str]]:
    out: dict[str, int | str] = {}
    spelled: dict[str, str] = {}
    warnings: list[str] = []
    for raw, value in values.items():
        name = ALIASES.get(raw, raw)
        if name in spelled:
            error(
                f"resource '{name}' is given twice (as '{spelled[name]}' and as '{raw}')",
                f"keep only '{name}'",
            )
        spelled[name] = raw
        message = _value_problem(name, value)
        if message:
            error(f"resource '{raw}' {message}", _example(name))
        if name not in KNOWN:
            warnings.append(unknown_warning(raw, where))
        out[name] = value
    for group in UNITS:
        given = [name for name in group if name in out]
        if len(given) > 1:
            error(
                f"resources {' and '.join(map(repr, given))} give the same amount twice",
                f"keep one of {', '.join(group)}",
            )
    return out, warnings


def _value_problem(name: str, value: Any) -> str | None:
    """Why ``value`` cannot be resource ``name``, or ``None`` if it can."""
    if isinstance(value, bool) or value is None:
        return f"must be a number or a string, got {value!r}"
    least = 1 if name in ("threads", "nodes") else 0
    if name in COUNTS:
        if not isinstance(value, int) or value < least:
            return f"must be a whole number >= {least}, got {value!r}"
    elif name in SIZES:
        if isinstance(value, str) and value.strip():
            return None
        if not isinstance(value, int) or value < 0:
            return f"must be a whole number (MB or minutes) or a string like '8GB', got {value!r}"
    elif name in TEXTS:
        if not isinstance(value, str) or not value.strip():
            return f"must be a non-empty string, got {value!r}"
    elif not isinstance(value, (int, str)):
        return f"must be a whole number or a string, got {value!r}"
    return None


def unknown_warning(name: str, where: str) -> str:
    """The warning for a resource name nbrules does not know (did-you-mean)."""
    close = closest(name, KNOWN | set(ALIASES))
    if close:
        hint = f"did you mean '{ALIASES.get(close, close)}'?"
    else:
        hint = (
            f"a custom resource only limits scheduling (--resources {name}=N); "
            f"known: threads, {', '.join(sorted(KNOWN - {'threads'}))}"
        )
    return f"{where}: warning: unknown resource '{name}' (passed to Snakemake as is)\nhint: {hint}"


def _drop_other_units(
    declared: dict[str, int | str], changed: Mapping[str, int | str]
) -> dict[str, int | str]:
    """Config's ``mem`` replaces a notebook's ``mem_mb`` (and so on) instead of clashing."""
    merged = dict(declared)
    for group in UNITS:
        if any(name in changed for name in group):
            for name in group:
                merged.pop(name, None)
    return merged


def _example(name: str) -> str:
    if name in COUNTS:
        value = "2"
    elif name in SIZES:
        value = "60" if name == "runtime" else '"8GB"'
    else:
        value = '"…"'
    return f'resources = {{"{name}": {value}}}'


def _declared_error(task: Task, line: int) -> Fail:
    def fail(message: str, hint: str) -> NoReturn:
        raise DeclarationError(message, path=task.source, line=line, hint=hint)

    return fail


def _config_error(where: str) -> Fail:
    def fail(message: str, hint: str) -> NoReturn:
        raise ConfigError(f"{where}: {message}", hint=hint)

    return fail

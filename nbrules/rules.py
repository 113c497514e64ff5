"""Notebook tasks → Snakemake rule specs, consumed by the packaged ``notebooks.smk``.

Each notebook becomes one rule:

- ``input``: upstream data products (an upstream's executed notebook only when the
  code reads ``upstream[name]["nb"]`` or it is the upstream's only product);
- ``output``: the notebook's products; ``log``: outside the product files;
- ``params``: the notebook's *code digest*, its parameter values and the rest of
  the job spec (JSON). The ``.py``
  source is deliberately not an ``input:``: Snakemake reruns a job and everything
  downstream whenever an input is newer than an output, so a comment edit would
  rebuild the world. The digest in ``params`` reruns exactly the notebooks whose
  code (or local modules they import) really changed;
- ``shell``: ``python -m nbrules run`` (a ``run:`` block would re-parse the
  Snakefile in every job).
"""

from __future__ import annotations

import ast
import shlex
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from . import graph
from .cache import code_memo
from .config import JobSpec, Settings, canonical_json, check_names, job_spec, settings
from .declarations import NB_KEY, Task, code_cells, discover
from .errors import NbrulesError
from .hashing import CodeMemo, code_digest, python_source
from .predict import predicted_hits
from .resources import job_group, rule_resources


@dataclass(frozen=True, slots=True)
class RuleSpec:
    """What one ``rule:`` block of ``notebooks.smk`` needs, fixed at definition time."""

    name: str
    task: str
    input: list[str]
    output: dict[str, str]
    log: str
    params: dict[str, str]
    threads: int
    resources: dict[str, Any] = field(default_factory=dict)
    shell: str = ""
    group: str | None = None
    local: bool = False


def notebook_reads(task: Task, single: frozenset[str] = frozenset()) -> frozenset[str]:
    """Upstream names whose executed notebook the code reads.

    That is ``upstream[n]["nb"]``, or any ``upstream[n]`` when ``n`` is in ``single``
    (an upstream whose only product is its executed notebook, injected as a path).
    """
    names: set[str] = set()
    for source, _ in code_cells(task.source):
        try:
            tree = ast.parse(python_source(source))
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            name = _upstream_subscript(node)
            if name is not None and (name in single or _is_nb_subscript(node, name)):
                names.add(name)
    return frozenset(names)


def _upstream_subscript(node: ast.AST) -> str | None:
    """``n`` of ``upstream["n"]``, or of ``upstream["n"]["nb"]``."""
    if not isinstance(node, ast.Subscript):
        return None
    inner = node.value
    if isinstance(inner, ast.Name) and inner.id == "upstream":
        name = _constant(node.slice)
        return name if isinstance(name, str) else None
    if _constant(node.slice) == NB_KEY:
        return _upstream_subscript(inner)
    return None


def _is_nb_subscript(node: ast.AST, name: str) -> bool:
    return (isinstance(node, ast.Subscript) and _constant(node.slice) == NB_KEY
            and _upstream_subscript(node.value) == name)


def _constant(node: ast.AST) -> Any:
    return node.value if isinstance(node, ast.Constant) else None


def load(config: Mapping[str, Any], snakefile_dir: Path, cwd: Path | None = None,
         tasks: list[Task] | None = None) -> tuple[Settings, graph.Pipeline]:
    """Discover (or take) tasks and validate them into a pipeline."""
    cwd = cwd or Path.cwd()
    s = settings(config, snakefile_dir, cwd)
    found = tasks
    if found is None:
        found = discover(Path(s.notebooks))
        graph.check_not_shadowing(found)
    pipeline = graph.build(found)
    check_names(s, list(pipeline.tasks.values()))
    return s, pipeline


def rule_specs(config: Mapping[str, Any], snakefile_dir: Path | str,
               tasks: list[Task] | None = None) -> list[RuleSpec]:
    """One :class:`RuleSpec` per notebook, in topological order."""
    cwd = Path.cwd()
    s, pipeline = load(config, Path(snakefile_dir), cwd, tasks)
    search = [cwd / p for p in [s.notebooks, *s.pythonpath]]
    memo = code_memo(s.engine, cwd)
    return [_rule_spec(task, pipeline, s, search, memo) for task in pipeline]


def _rule_spec(task: Task, pipeline: graph.Pipeline, s: Settings,
               search: list[Path], memo: CodeMemo | None = None) -> RuleSpec:
    single = frozenset(u for u in task.upstream if pipeline.tasks[u].single)
    spec = job_spec(task, pipeline.tasks, s, notebook_reads(task, single))
    own = s.tasks.get(task.name) or {}
    needs = rule_resources(task, own.get("resources"))
    for warning in needs.warnings:
        _warn(warning)
    return RuleSpec(
        name=graph.rule_name(task.name),
        task=task.name,
        input=[*spec.key_inputs.values(), *spec.order_inputs],
        output=dict(spec.products),
        log=spec.log,
        params=split_params(spec, code_digest(task.source, search, memo)),
        threads=needs.threads,
        resources=dict(needs.resources),
        shell=shell_command(),
        group=job_group(task.name, own.get("group")),
    )


def mark_cache_hits(specs: list[RuleSpec], cwd: Path | None = None) -> list[RuleSpec]:
    """Predicted cache hits become local rules outside any group: nothing to submit."""
    jobs = [(job_spec_of(spec), spec.params["code"]) for spec in specs]
    try:
        hits = predicted_hits(jobs, cwd or Path.cwd())
    except (OSError, NbrulesError):
        return specs  # no prediction: every job is scheduled as usual
    return [replace(spec, local=True, group=None) if spec.task in hits else spec
            for spec in specs]


def _warn(message: str) -> None:
    from snakemake.logging import logger

    logger.warning(message)


def split_params(spec: JobSpec, code: str) -> dict[str, str]:
    """The rule's ``params``: the code digest, the parameter values, the rest of the spec.

    Three entries rather than one JSON blob so that Snakemake's "Params have changed"
    reason shows just what changed (``{"sample_frac":0.01}`` → ``{"sample_frac":0.1}``).
    """
    rest = spec.to_json_dict()
    values = rest.pop("params")
    return {"code": code, "values": canonical_json(values), "spec": canonical_json(rest)}


def shell_command() -> str:
    """The job's command; ``{params.values:q}`` etc. are filled in by Snakemake per job."""
    return (f"{shlex.quote(sys.executable)} -m nbrules run --threads {{threads}} "
            "--values {params.values:q} {params.spec:q}")


def run_snakemake(args: list[str]) -> int:
    """Snakemake's command line in this process (``nbrules build``): its exit code.

    In-process saves a second interpreter and a second import of nbrules (~0.4 s of a
    2 s no-op build, measured on the Ploomber fixture).
    """
    from snakemake.cli import main

    try:
        main(args)
    except SystemExit as done:
        return done.code if isinstance(done.code, int) else int(done.code is not None)
    return 0


def all_products(specs: list[RuleSpec]) -> list[str]:
    return [path for spec in specs for path in spec.output.values()]


def job_spec_of(spec: RuleSpec) -> JobSpec:
    return JobSpec.from_parts(spec.params["spec"], spec.params["values"])

"""Notebook tasks → Snakemake rule specs, consumed by the packaged ``notebooks.smk``.

Each notebook becomes one rule:

- ``input``: upstream data products (an upstream's executed notebook only when the
  code reads ``upstream[name]["nb"]`` or it is the upstream's only product);
- ``output``: the notebook's products (a folder product, declared with a trailing
  ``/``, is a ``directory()`` output); ``log``: outside the product files;
- ``params``: the notebook's *code digest*, its parameter values and the rest of
  the job spec (JSON). The ``.py`` source is deliberately not an ``input:``:
  Snakemake reruns a job and everything downstream whenever an input is newer than
  an output, so a comment edit would rebuild the world. The digest in ``params``
  reruns exactly the notebooks whose code (or local modules they import) changed;
- ``shell``: ``python -m nbrules run .nbrules/jobs/<name>-<digest>.json`` — the job
  spec travels in a file (named in ``params.job``), so the command stays short
  whatever the parameters (a ``run:`` block would re-parse the Snakefile in every
  job). The command is the same string for every rule: Snakemake formats a rule's
  ``shell:`` when the job runs, after the Snakefile's loop has moved on.
"""

from __future__ import annotations

import shlex
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..cache.code import DirectoryMemo, code_summary
from ..cache.digests import digest_text, hex_part
from ..cache.store import store_root
from ..common.errors import NbrulesError
from ..common.files import atomic_write_text
from ..common.text import canonical_json
from ..plan import graph
from ..plan.declarations import Task, discover, untagged
from ..plan.interpreter import kernel_interpreter
from ..plan.jobspec import JobSpec, job_spec, notebook_reads, spec_file, write_declared
from ..plan.memo import MEMO_FILE, DiscoveryMemo
from ..plan.predict import predicted_hits
from ..plan.report import report_keys
from ..plan.resources import rule_resources
from ..plan.scripts import discover_functions
from ..plan.settings import Force, Settings, check_names, parse_settings

#: Caption files of the report, relative to the working directory.
CAPTIONS_DIR = ".nbrules/captions"


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
    job: JobSpec
    resources: dict[str, Any] = field(default_factory=dict)
    shell: str = ""
    group: str | None = None
    local: bool = False
    #: Output names that are folders: ``notebooks.smk`` declares them ``directory()``.
    folders: tuple[str, ...] = ()
    #: Output name → what Snakemake's report shows of it (caption file, category).
    report: dict[str, ReportFlag] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ReportFlag:
    """A product in Snakemake's report: ``report(path, caption=…, category=…)``."""

    caption: str
    category: str


def load(
    s: Settings,
    tasks: Sequence[Task] | None = None,
    files: Sequence[Path] = (),
    memo: DiscoveryMemo | None = None,
) -> graph.Pipeline:
    """Discover (or take) tasks and validate them into a pipeline."""
    found = list(tasks) if tasks is not None else None
    if found is None:
        found = discover(Path(s.notebooks), memo)
        found += discover_functions(Path(s.notebooks), found)
        graph.check_not_shadowing(found)
    pipeline = graph.build(found)
    check_names(s, list(pipeline.tasks.values()), files)
    return pipeline


def rules_from_config(
    config: Mapping[str, Any],
    basedir: Path | str,
    tasks: Sequence[Task] | None = None,
    files: Sequence[Path] = (),
    cwd: Path | None = None,
    warn: Callable[[str], None] | None = None,
    write_specs: bool = True,
) -> tuple[Settings, list[RuleSpec]]:
    """Settings and one :class:`RuleSpec` per notebook, from a Snakemake config dict.

    ``basedir``: the folder config paths are relative to (the Snakefile's);
    ``files``: the config files behind ``config`` (to locate errors); ``warn``: where
    warnings go (default: Snakemake's logger); ``write_specs``: write the job spec
    files (a build needs them; a tool that only looks does not).
    """
    cwd = cwd or Path.cwd()
    s = parse_settings(config, Path(basedir), cwd, files)
    memo = DiscoveryMemo(cwd / MEMO_FILE)
    pipeline = load(s, tasks, files, memo)
    if tasks is None:
        for warning in untagged(Path(s.notebooks), list(pipeline.tasks.values())):
            (warn or _warn)(warning)
    specs = rule_specs(s, pipeline, cwd, warn, write_specs, memo)
    memo.save()
    return s, specs


def rule_specs(
    s: Settings,
    pipeline: graph.Pipeline,
    cwd: Path,
    warn: Callable[[str], None] | None = None,
    write_specs: bool = True,
    discovered: DiscoveryMemo | None = None,
) -> list[RuleSpec]:
    """One :class:`RuleSpec` per notebook, in topological order."""
    warn = warn or _warn
    # Paths relative to the working directory: errors then name `notebooks/x.py:3`.
    search = [Path(p) for p in [s.notebooks, *s.pythonpath]]
    memo = DirectoryMemo(store_root(s.cache.root, cwd) / "normalized")
    python = kernel_interpreter(s.kernel).python
    specs = []
    for task in pipeline:
        reads = notebook_reads(task, pipeline.tasks, discovered)
        spec = job_spec(task, pipeline.tasks, s, reads)
        code = code_summary(
            Path(spec.source), search, python, memo, spec.check_modules, spec.kind, spec.function
        ).digest
        own = s.task(task.name)
        needs = rule_resources(task, own.resources)
        for warning in needs.warnings:
            warn(warning)
        specs.append(
            RuleSpec(
                name=graph.rule_name(task.name),
                task=task.name,
                input=[*spec.key_inputs.values(), *spec.order_inputs],
                output=spec.plain_products,
                log=spec.log,
                params={**split_params(spec, code), "job": spec_file(spec, cwd, write_specs)},
                threads=needs.threads,
                job=spec,
                resources=dict(needs.resources),
                shell=shell_command(),
                group=own.group,
                folders=tuple(sorted(spec.folders)),
                report=report_flags(task, spec, cwd, write_specs),
            )
        )
    if write_specs:
        write_declared(cwd, s.results, [spec.job for spec in specs])
    return specs


def report_flags(task: Task, spec: JobSpec, cwd: Path, write: bool) -> dict[str, ReportFlag]:
    """The products a notebook shows in the report, grouped under its name.

    Snakemake reads a caption from a reStructuredText file: each is written once under
    ``.nbrules/captions/``, named by its content.
    """
    flags = {}
    for output, caption in report_keys(task.report, spec.products).items():
        text = caption or f"The executed notebook ``{spec.source}``."
        flags[output] = ReportFlag(str(cwd / caption_file(text, cwd, write)), task.name)
    return flags


def caption_file(text: str, cwd: Path, write: bool = True) -> str:
    """The content-named caption file of ``text`` (relative to ``cwd``)."""
    body = "{% raw %}\n" + text + "\n{% endraw %}\n"  # Snakemake renders captions with Jinja
    relative = f"{CAPTIONS_DIR}/{hex_part(digest_text(body))[:16]}.rst"
    path = cwd / relative
    if write and not path.is_file():
        atomic_write_text(path, body, durable=False)
    return relative


def mark_cache_hits(
    specs: list[RuleSpec], s: Settings, cwd: Path, force: Force | None = None
) -> list[RuleSpec]:
    """Predicted cache hits become local rules outside any group: nothing to submit.

    A forced notebook, or one declaring ``cache = False``, executes: never predicted.
    """
    force = force or Force()
    jobs = [(spec.job, spec.params["code"]) for spec in specs]
    try:
        hits = predicted_hits(jobs, s.cache, cwd, force=force)
    except (OSError, NbrulesError):
        return specs  # no prediction: every job is scheduled as usual
    return [replace(spec, local=True, group=None) if spec.task in hits else spec for spec in specs]


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
    """The job's command; ``{params.job}`` and ``{threads}`` are filled in per job."""
    return f"{shlex.quote(sys.executable)} -m nbrules run {{params.job:q}} --threads {{threads}}"


def all_products(specs: list[RuleSpec]) -> list[str]:
    return [path for spec in specs for path in spec.output.values()]

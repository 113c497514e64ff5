"""One notebook resolved against its upstreams and settings: the :class:`JobSpec`.

A job spec holds exactly what decides a notebook's products — its source, the
resolved parameter values, product and upstream paths, the files whose content
enters the cache key, the kernel — and nothing that does not (cache settings,
threads). Snakemake sees it as the rule's ``params`` (so a change reschedules the
job) and the job reads it back from a small JSON file (``.nbrules/jobs/``) whose
path is the job's only argument: the command stays short and any value size works.
"""

from __future__ import annotations

import ast
import contextlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path, PurePosixPath
from typing import Any

from ..cache.digests import digest_text, hex_part
from ..common.errors import ConfigError, ExecutionError
from ..common.files import atomic_write_text
from ..common.text import canonical_json, did_you_mean
from .checks import Check, check_calls
from .declarations import NB_KEY, Task, is_folder, plain
from .memo import DiscoveryMemo, scan_file
from .report import RENDERED
from .settings import Settings

#: Job spec files, relative to the working directory; named by their content digest.
JOBS_DIR = ".nbrules/jobs"


def progress_file(log: str | Path) -> Path:
    """``<notebook>.progress`` beside a job's log: ``<cells done>/<cells>`` while the
    notebook runs (the engine writes it, nbrules' Snakemake logger reads it)."""
    return Path(log).with_suffix(".progress")


@dataclass(frozen=True, slots=True)
class JobSpec:
    """Everything a job needs to run one notebook; JSON-serialisable.

    All paths are POSIX strings relative to the working directory. ``key_inputs``
    are the files whose content enters the cache key (upstream data products and
    executed notebooks the code reads); ``order_inputs`` only order the jobs.
    """

    name: str
    source: str
    products: dict[str, str]
    single: bool
    upstream: dict[str, Any]
    key_inputs: dict[str, str]
    order_inputs: list[str]
    params: dict[str, Any]
    log: str
    kernel: str
    pythonpath: list[str]
    results: str
    #: ``False``: never restored from the cache (see ``Task.cacheable``).
    cacheable: bool = True
    #: Integrity checks run on the products before they are published (``Check.to_json``).
    checks: list[dict[str, Any]] = field(default_factory=list)
    #: ``Task.kind`` and ``Task.function``: a notebook, a Python function, a shell script.
    kind: str = "notebook"
    function: str = ""
    #: nbconvert options for products rendered as HTML (Ploomber's
    #: ``nbconvert_export_kwargs``, e.g. ``{"exclude_input": true}``).
    render: dict[str, bool] = field(default_factory=dict)

    def to_json_dict(self) -> dict[str, Any]:
        # Shallow: the values are JSON data already (asdict's deep copy costs ~1 ms
        # per spec of a 1,000-upstream notebook).
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def to_json(self) -> str:
        return canonical_json(self.to_json_dict())

    @classmethod
    def from_json(cls, text: str) -> JobSpec:
        return cls(**json.loads(text))

    @classmethod
    def from_parts(cls, spec: str, values: str | None = None) -> JobSpec:
        """A spec from the rule's ``params.spec`` and, apart, ``params.values``."""
        data = json.loads(spec)
        if values is not None:
            data["params"] = json.loads(values)
        return cls(**data)

    @property
    def check_modules(self) -> tuple[str, ...]:
        """Modules whose functions the checks call (their code enters the code digest)."""
        return tuple(sorted({c.module for c in map(Check.from_json, self.checks) if c.is_call}))

    @property
    def relative_products(self) -> dict[str, str]:
        """Product paths relative to the output root (stable across profiles/checkouts).

        A folder product keeps its trailing ``/``: declaring a path a folder or a file
        gives another key.
        """
        root = PurePosixPath(self.results)
        return {
            k: str(PurePosixPath(v).relative_to(root)) + ("/" if is_folder(v) else "")
            for k, v in self.products.items()
        }

    @property
    def folders(self) -> frozenset[str]:
        """Names of the folder products."""
        return frozenset(k for k, v in self.products.items() if is_folder(v))

    @property
    def plain_products(self) -> dict[str, str]:
        """Product paths as the notebook and Snakemake see them (no trailing ``/``)."""
        return {k: plain(v) for k, v in self.products.items()}


def spec_file(spec: JobSpec, cwd: Path, write: bool = True) -> str:
    """The content-named file of ``spec``, relative to ``cwd`` (written once if ``write``)."""
    text = spec.to_json()
    stem = re.sub(r"[^\w.-]", "_", spec.name)
    relative = f"{JOBS_DIR}/{stem}-{hex_part(digest_text(text))[:16]}.json"
    path = cwd / relative
    if write and _size(path) != len(text):  # ASCII JSON: characters are bytes
        atomic_write_text(path, text, durable=False)
    return relative


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return -1


def write_spec_file(spec: JobSpec, cwd: Path) -> str:
    """Write ``spec`` to its content-named file (once); its path relative to ``cwd``."""
    return spec_file(spec, cwd, write=True)


def declared_path(cwd: Path, results: str) -> Path:
    """The list of every product the pipeline declares under ``results``."""
    name = hex_part(digest_text(results))[:16]
    return cwd / JOBS_DIR / f"declared-{name}.json"


def write_declared(cwd: Path, results: str, specs: list[JobSpec]) -> None:
    """Record every declared product (relative to ``results``) for the jobs' output check.

    A job warns about files it wrote under the output root that no notebook
    declares; files other notebooks declare are theirs, not undeclared.
    """
    declared = sorted({p for spec in specs for p in spec.relative_products.values()})
    path = declared_path(cwd, results)
    text = canonical_json(declared)
    with contextlib.suppress(OSError):
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            atomic_write_text(path, text)


def read_declared(cwd: Path, results: str) -> frozenset[str]:
    """What :func:`write_declared` recorded (empty if nothing usable was)."""
    try:
        data = json.loads(declared_path(cwd, results).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return frozenset()
    return frozenset(str(p) for p in data) if isinstance(data, list) else frozenset()


def read_spec_file(path: Path) -> JobSpec:
    """The job spec a Snakemake job was given; a missing or damaged file is explained."""
    try:
        return JobSpec.from_json(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ExecutionError(
            "job spec file is missing",
            path=path,
            hint="it is written when Snakemake parses the Snakefile: run snakemake again",
        ) from None
    except (OSError, ValueError, TypeError) as exc:
        raise ExecutionError(
            f"job spec file is unreadable: {exc}",
            path=path,
            hint="delete .nbrules/jobs/ and run snakemake again",
        ) from None


def resolve_params(task: Task, s: Settings) -> dict[str, Any]:
    """A task's parameter values: declared defaults, then global, then per-task config.

    A default that would not survive the JSON job spec (a tuple, a set, a dict with
    non-string keys) is left out: the notebook's own parameters cell sets it anyway.
    """
    values = {k: v for k, v in task.params.items() if _survives_json(v)}
    values.update({k: v for k, v in s.params.items() if k in task.declared})
    for name, value in s.task(task.name).params.items():
        if name not in task.declared:
            raise ConfigError(
                f"config sets parameter '{name}' of notebook '{task.name}', "
                "which its parameters cell does not declare",
                path=task.source,
                line=task.line,
                hint=did_you_mean(
                    name,
                    task.declared,
                    fallback=f"declare '{name} = <default>' "
                    f"in the parameters cell of {task.source}",
                ),
            )
        values[name] = value
    for name, value in values.items():
        check_literal(value, f"parameter '{name}' of notebook '{task.name}'", task)
    return values


def check_literal(value: Any, what: str, task: Task) -> None:
    """Parameters are injected as ``repr``; only values that round-trip may pass."""
    text = repr(value)
    try:
        ok = ast.literal_eval(text) == value and _survives_json(value)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        ok = False
    if not ok:
        raise ConfigError(
            f"{what} is {type(value).__name__} {text[:60]}, not a plain literal",
            path=task.source,
            line=task.line,
            hint="use None, bool, int, finite float, str, or lists and string-keyed dicts of those",
        )


def _survives_json(value: Any) -> bool:
    """The job spec travels as JSON: tuples, sets and non-string keys would change."""
    try:
        return bool(json.loads(json.dumps(value, allow_nan=False)) == value)
    except (TypeError, ValueError, RecursionError):
        return False


def product_paths(task: Task, s: Settings) -> dict[str, str]:
    """Product paths under the output root; a folder product keeps its trailing ``/``."""
    root = PurePosixPath(s.results)
    return {
        k: str(root / PurePosixPath(v)) + ("/" if is_folder(v) else "")
        for k, v in task.products.items()
    }


def job_products(task: Task, s: Settings) -> dict[str, str]:
    """What the job writes under the output root: the products, and the HTML rendering
    of the executed notebook when the report shows it (``report.RENDERED``)."""
    paths = product_paths(task, s)
    if task.rendered is not None:
        paths[RENDERED] = str(PurePosixPath(s.results) / PurePosixPath(task.rendered))
    return paths


def job_spec(
    task: Task, tasks: Mapping[str, Task], s: Settings, reads_nb: frozenset[str] = frozenset()
) -> JobSpec:
    """Resolve one task against its upstreams and settings.

    ``reads_nb``: the upstreams whose executed notebook the code reads
    (:func:`notebook_reads`); their notebooks enter the key inputs.
    """
    injected: dict[str, Any] = {}
    key_inputs: dict[str, str] = {}
    order_inputs: list[str] = []
    for name in task.upstream:
        up = tasks[name]
        paths = {k: plain(v) for k, v in product_paths(up, s).items()}
        value = paths[NB_KEY] if up.single else paths
        group = task.groups.get(name)
        if group is None:
            injected[name] = value
        else:
            injected.setdefault(group, {})[name] = value
        for key, path in paths.items():
            if key != NB_KEY or name in reads_nb:
                key_inputs[f"{name}/{key}"] = path
            elif len(paths) == 1:
                order_inputs.append(path)
    search = [Path(p) for p in [s.notebooks, *s.pythonpath]]
    check_calls(task.checks, search, task.source, task.line_of("checks"))
    return JobSpec(
        name=task.name,
        source=str(PurePosixPath(task.source)),
        products=job_products(task, s),
        single=task.single,
        upstream=injected,
        key_inputs=key_inputs,
        order_inputs=order_inputs,
        params=resolve_params(task, s),
        log=str(PurePosixPath(s.logs) / f"{task.name}.log"),
        kernel=s.kernel,
        pythonpath=[s.notebooks, *s.pythonpath],
        results=s.results,
        cacheable=task.cacheable,
        checks=[check.to_json() for check in task.checks],
        kind=task.kind,
        function=task.function,
        render=dict(task.render),
    )


def notebook_reads(
    task: Task, tasks: Mapping[str, Task], memo: DiscoveryMemo | None = None
) -> frozenset[str]:
    """Upstream names whose executed notebook the code reads.

    That is ``upstream[n]["nb"]``, or any ``upstream[n]`` when ``n``'s only product is
    its executed notebook (injected as a plain path).
    """
    if task.kind != "notebook":  # no static reading of a function's or script's reads
        return frozenset(task.upstream)
    single = {u for u in task.upstream if tasks[u].single}
    found = memo.scan(task.source) if memo is not None else scan_file(task.source)
    return frozenset(found.reads_nb) | (frozenset(found.subscripts) & single)

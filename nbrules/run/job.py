"""One notebook job: cache key → restore on a hit, or execute and publish on a miss.

Snakemake decides *what to schedule*; this module decides *whether a kernel
starts*. A scheduled job whose key (see :mod:`nbrules.cache.key`) is in the store
restores its products and executed notebook from there; so after an edit that
leaves a notebook's outputs byte-identical, every downstream job Snakemake
schedules is a hit (early cutoff).

Cache trouble never fails a job: an unusable store runs the notebook uncached, a
damaged entry is dropped and the notebook runs again, a failed publish is noted in
the job's one log line.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from ..cache.code import CodeMemo, DirectoryMemo
from ..cache.digests import short
from ..cache.key import miss_reason
from ..cache.statcache import StatCache
from ..cache.store import ENV_BUILD, Store, store_root
from ..cache.tables import TableMemo
from ..common.errors import CacheError, DamagedEntry
from ..plan.declarations import NB_KEY
from ..plan.jobspec import JobSpec
from ..plan.keys import key_parts, spec_code
from ..plan.settings import CacheSettings, Force
from .execute import RunResult, executed_notebook_path
from .execute import run as execute_run

#: Executes a job's notebook: ``runner(spec, cwd)``.
Runner = Callable[[JobSpec, Path], RunResult]


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one job did; :attr:`line` is its one log line."""

    task: str
    key: str
    hit: bool
    reason: str = ""
    restored: int = 0
    seconds: float = 0.0
    note: str = ""

    @property
    def line(self) -> str:
        head = f"nbrules: {self.task}: cache {'hit' if self.hit else 'miss'} {short(self.key)}"
        if self.hit:
            plural = "" if self.restored == 1 else "s"
            return f"{head} (restored {self.restored} product{plural})"
        note = f"; {self.note}" if self.note else ""
        return f"{head} — {self.reason} (executed in {self.seconds:.1f}s{note})"


def run_job(
    spec: JobSpec,
    cwd: Path,
    runner: Runner = execute_run,
    environ: Mapping[str, str] | None = None,
    cache: CacheSettings | None = None,
) -> Outcome:
    """Restore the job's products from the cache, or execute the notebook and cache them."""
    env = os.environ if environ is None else environ
    options = cache or CacheSettings.from_env(env)
    try:
        store = Store.open(store_root(options.root, cwd, env))
    except OSError as exc:
        parts, _ = key_parts(spec, cwd, StatCache(None), None, options.packages)
        return _execute(spec, cwd, runner, parts.key, f"cache unavailable ({exc})")
    with StatCache(store.stat_cache_path()) as stats:
        memo = DirectoryMemo(store.root / "normalized")
        tables = TableMemo.in_store(store.root)
        parts, code = key_parts(spec, cwd, stats, memo, options.packages, tables)
        document = parts.document()
        build = env.get(ENV_BUILD) or "manual"
        bypass = _bypass(spec, Force.from_env(env))
        outcome = bypass or _restore(spec, cwd, store, parts.key, options, stats)
        if not isinstance(outcome, Outcome):
            reason = outcome or miss_reason(document, store.read_last(spec.name, spec.results))
            try:
                outcome = _execute(spec, cwd, runner, parts.key, reason)
            except BaseException:
                _record(store, build, spec, parts.key, "error", 0.0, reason)
                raise
            if spec.cacheable:
                outcome = _publish(spec, cwd, store, outcome, stats, memo, code.digest)
        with contextlib.suppress(OSError, CacheError):
            source = store.put_source(cwd / spec.source)
            store.write_last(
                spec.name, spec.results, document, key=parts.key, source=source, code=code.parts
            )
        _record(
            store,
            build,
            spec,
            parts.key,
            "hit" if outcome.hit else "miss",
            outcome.seconds,
            outcome.reason,
        )
    return outcome


def _bypass(spec: JobSpec, force: Force) -> str:
    """Why this job must execute whatever the cache holds ('' if it need not)."""
    if not spec.cacheable:
        return "cache = False: it executes whenever it is scheduled"
    if force.covers(spec.name):
        return "forced (--forceall, --forcerun or --force)"
    return ""


def _targets(spec: JobSpec, cwd: Path) -> tuple[dict[str, Path], Path | None]:
    products = {name: cwd / path for name, path in spec.products.items()}
    notebook = None if NB_KEY in spec.products else executed_notebook_path(spec, cwd)
    return products, notebook


def _restore(
    spec: JobSpec, cwd: Path, store: Store, key: str, options: CacheSettings, stats: StatCache
) -> Outcome | str:
    """A hit's outcome, or why there is none ('' for a plain miss)."""
    manifest = store.lookup(key)
    if manifest is None:
        return ""
    products, notebook = _targets(spec, cwd)
    try:
        store.restore(manifest, products, notebook, link=options.link, verify=options.verify)
    except DamagedEntry as damage:
        store.drop(key, damage.bad_object)
        return f"cache entry damaged: {damage.message}"
    except OSError as exc:
        return f"restore failed: {exc}"
    store.touch(key)
    for name, entry in manifest.products.items():
        stats.remember(products[name], entry.object)
    return Outcome(spec.name, key, hit=True, restored=len(manifest.products))


def _execute(spec: JobSpec, cwd: Path, runner: Runner, key: str, reason: str) -> Outcome:
    start = time.perf_counter()
    runner(spec, cwd)
    return Outcome(spec.name, key, hit=False, reason=reason, seconds=time.perf_counter() - start)


def _publish(
    spec: JobSpec,
    cwd: Path,
    store: Store,
    outcome: Outcome,
    stats: StatCache,
    memo: CodeMemo,
    code: str,
) -> Outcome:
    """Cache the products, unless the code changed while the notebook ran."""
    if spec_code(spec, cwd, memo).digest != code:
        return _noted(outcome, "not cached: the code changed while it ran")
    products, notebook = _targets(spec, cwd)
    relative = spec.relative_products
    try:
        manifest = store.publish(
            outcome.key,
            spec.name,
            {name: (path, relative[name]) for name, path in products.items()},
            (notebook, notebook.name) if notebook is not None else None,
            outcome.seconds,
        )
    except (OSError, CacheError) as exc:
        return _noted(outcome, f"not cached: {exc}")
    for name, entry in manifest.products.items():
        stats.remember(products[name], entry.object)
    return outcome


def _noted(outcome: Outcome, note: str) -> Outcome:
    return replace(outcome, note=note)


def _record(
    store: Store, build: str, spec: JobSpec, key: str, result: str, seconds: float, reason: str
) -> None:
    with contextlib.suppress(OSError):
        store.record_event(
            build,
            {
                "task": spec.name,
                "results": spec.results,
                "key": key,
                "result": result,
                "seconds": round(seconds, 3),
                "reason": reason,
            },
        )

"""One notebook job: cache key → restore on a hit, or execute and publish on a miss.

Snakemake decides *what to schedule*; this module decides *whether a kernel
starts*. A scheduled job whose key (see :mod:`nbrules.cache`) is in the store
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
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path, PurePosixPath
from typing import Any

from .cache import (
    ENV_BUILD,
    LINK_MODES,
    DamagedEntry,
    KeyParts,
    Store,
    miss_reason,
    store_root,
)
from .config import JobSpec
from .declarations import NB_KEY
from .errors import CacheError, ConfigError
from .execute import RunResult, executed_notebook_path
from .execute import run as execute_run
from .hashing import CodeMemo, DirectoryMemo, StatCache, code_summary, short

Runner = Callable[[JobSpec, Path], RunResult]


@dataclass(frozen=True, slots=True)
class CacheOptions:
    """The job's ``nbrules:`` cache settings (they travel in ``spec.engine``)."""

    verify: bool = False
    link: str = "copy"
    packages: bool = False

    @classmethod
    def from_engine(cls, engine: Mapping[str, Any]) -> CacheOptions:
        link = str(engine.get("cache_link") or "copy")
        if link not in LINK_MODES:
            raise ConfigError(
                f"config key 'nbrules.cache_link' is {link!r}",
                hint=f"use one of: {', '.join(LINK_MODES)} (links only if nobody edits "
                "products in place: that would corrupt the cache)",
            )
        return cls(bool(engine.get("cache_verify", False)), link,
                   bool(engine.get("cache_packages", False)))


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


def run_job(spec: JobSpec, cwd: Path, runner: Runner = execute_run,
            environ: Mapping[str, str] | None = None) -> Outcome:
    """Restore the job's products from the cache, or execute the notebook and cache them."""
    env = os.environ if environ is None else environ
    options = CacheOptions.from_engine(spec.engine)
    try:
        store = Store.open(store_root(spec.engine, cwd, env))
    except OSError as exc:
        parts = key_parts(spec, cwd, StatCache(None), None, options.packages)
        return _execute(spec, cwd, runner, parts.key, f"cache unavailable ({exc})")
    with StatCache(store.stat_cache_path()) as stats:
        memo = DirectoryMemo(store.root / "normalized")
        parts = key_parts(spec, cwd, stats, memo, options.packages)
        document = parts.document()
        build = env.get(ENV_BUILD) or "manual"
        outcome = _restore(spec, cwd, store, parts.key, options, stats)
        if not isinstance(outcome, Outcome):
            reason = outcome or miss_reason(document, store.read_last(spec.name, spec.results))
            try:
                outcome = _execute(spec, cwd, runner, parts.key, reason)
            except BaseException:
                _record(store, build, spec, parts.key, "error", 0.0, reason)
                raise
            outcome = _publish(spec, cwd, store, outcome, stats, memo, parts.code)
        with contextlib.suppress(OSError):
            store.write_last(spec.name, spec.results, document)
        _record(store, build, spec, parts.key, "hit" if outcome.hit else "miss",
                outcome.seconds, outcome.reason)
    return outcome


def key_parts(spec: JobSpec, cwd: Path, stats: StatCache, memo: CodeMemo | None,
              packages: bool = False) -> KeyParts:
    """The job's cache key parts, from the files as they are now."""
    code = code_summary(cwd / spec.source, [cwd / p for p in spec.pythonpath], memo)
    inputs = {name: _input_digest(stats, cwd / path, name)
              for name, path in sorted(spec.key_inputs.items())}
    local = {PurePosixPath(key).parts[0].removesuffix(".py") for key in code.local}
    versions = installed_versions(code.imports, local) if packages else None
    return spec_key_parts(spec, code.digest, inputs, versions)


def spec_key_parts(spec: JobSpec, code: str, inputs: dict[str, str],
                   packages: dict[str, str] | None = None) -> KeyParts:
    """The key parts of ``spec`` given its code digest and input digests.

    The one place that maps a job spec onto the key, for the job itself and for the
    parse-time prediction (``predict.py``), so the two can never drift apart.
    """
    return KeyParts(code=code, params=spec.params, products=spec.relative_products,
                    single=spec.single, kernel=spec.kernel, inputs=inputs, packages=packages)


def _input_digest(stats: StatCache, path: Path, name: str) -> str:
    try:
        return stats.digest(path)
    except OSError as exc:
        raise CacheError(f"cannot read input '{name}': {exc.strerror}", path=path,
                         hint="an upstream job should have written it; rerun the build") from exc


def installed_versions(imports: frozenset[str], local: set[str]) -> dict[str, str]:
    """``{distribution: version}`` of the third-party packages among ``imports``."""
    tops = {name.split(".")[0] for name in imports} - local - set(sys.stdlib_module_names)
    owners = metadata.packages_distributions()
    versions: dict[str, str] = {}
    for top in sorted(tops):
        for dist in owners.get(top, []):
            with contextlib.suppress(metadata.PackageNotFoundError):
                versions[dist] = metadata.version(dist)
    return versions


def _targets(spec: JobSpec, cwd: Path) -> tuple[dict[str, Path], Path | None]:
    products = {name: cwd / path for name, path in spec.products.items()}
    notebook = None if NB_KEY in spec.products else executed_notebook_path(spec, cwd)
    return products, notebook


def _restore(spec: JobSpec, cwd: Path, store: Store, key: str, options: CacheOptions,
             stats: StatCache) -> Outcome | str:
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
    return Outcome(spec.name, key, hit=False, reason=reason,
                   seconds=time.perf_counter() - start)


def _publish(spec: JobSpec, cwd: Path, store: Store, outcome: Outcome, stats: StatCache,
             memo: CodeMemo, code: str) -> Outcome:
    """Cache the products, unless the code changed while the notebook ran."""
    after = code_summary(cwd / spec.source, [cwd / p for p in spec.pythonpath], memo)
    if after.digest != code:
        return _noted(outcome, "not cached: the code changed while it ran")
    products, notebook = _targets(spec, cwd)
    relative = spec.relative_products
    try:
        manifest = store.publish(
            outcome.key, spec.name,
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
    return Outcome(outcome.task, outcome.key, outcome.hit, outcome.reason,
                   outcome.restored, outcome.seconds, note)


def _record(store: Store, build: str, spec: JobSpec, key: str, result: str,
            seconds: float, reason: str) -> None:
    with contextlib.suppress(OSError):
        store.record_event(build, {"task": spec.name, "results": spec.results, "key": key,
                                   "result": result, "seconds": round(seconds, 3),
                                   "reason": reason})

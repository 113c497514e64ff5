"""One notebook job: cache key → restore on a hit, or execute and publish on a miss.

Snakemake decides *what to schedule*; this module decides *whether a kernel
starts*. A scheduled job whose key (see :mod:`nbrules.cache.key`) is in the store
restores its products and executed notebook from there, every byte checked
against its digest; so after an edit that leaves a notebook's outputs
byte-identical, every downstream job Snakemake schedules is a hit (early cutoff).

A miss takes the key's lease (:mod:`nbrules.cache.lease`) before it executes: a
concurrent build that needs the same key waits for this one and restores its
entry, so no key ever runs twice at once.

Cache trouble never fails a job: an unusable store runs the notebook uncached, a
damaged entry is dropped and the notebook runs again, a store that cannot be
written (full, read-only) delivers the products uncached and warns once per build.
Temp files a killed restore left beside this job's targets are removed first.
"""

from __future__ import annotations

import contextlib
import errno
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..cache.code import DirectoryMemo
from ..cache.digests import short
from ..cache.key import miss_reason
from ..cache.lease import Holder, Lease, acquire_or_wait
from ..cache.manifest import Manifest
from ..cache.statcache import StatCache
from ..cache.store import ENV_BUILD, Store, store_root
from ..cache.tables import TableMemo
from ..common.errors import CacheError, DamagedEntry
from ..common.files import remove_temps_of
from ..plan.declarations import NB_KEY
from ..plan.jobspec import JobSpec, read_declared
from ..plan.keys import key_parts, spec_code
from ..plan.settings import CacheSettings, Force
from . import notices, outputs
from .execute import RunResult, executed_notebook_path
from .execute import run as execute_run

#: Executes a job's notebook: ``runner(spec, cwd)``.
Runner = Callable[[JobSpec, Path], RunResult]
#: Where a job says something while it still works (waiting for another build).
Tell = Callable[[str], None]
#: errno values meaning "this store cannot be written", warned about once per build.
_UNWRITABLE = frozenset({errno.EROFS, errno.EACCES, errno.EPERM, errno.ENOSPC, errno.EDQUOT})
#: A shorter wait for another build (it published just before we looked) goes unmentioned.
_NOTICEABLE = 0.05


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one job did; :attr:`line` is its one log line, :attr:`warnings` go before it."""

    task: str
    key: str
    hit: bool
    reason: str = ""
    restored: int = 0
    seconds: float = 0.0
    note: str = ""
    waited: float = 0.0
    warnings: tuple[str, ...] = field(default=())

    @property
    def line(self) -> str:
        head = f"nbrules: {self.task}: cache {'hit' if self.hit else 'miss'} {short(self.key)}"
        if self.hit:
            plural = "" if self.restored == 1 else "s"
            waited = f"; waited {self.waited:.1f}s for another build" if self.waited else ""
            return f"{head} (restored {self.restored} product{plural}{waited})"
        note = f"; {self.note}" if self.note else ""
        return f"{head} — {self.reason} (executed in {self.seconds:.1f}s{note})"


def run_job(
    spec: JobSpec,
    cwd: Path,
    runner: Runner = execute_run,
    environ: Mapping[str, str] | None = None,
    cache: CacheSettings | None = None,
    tell: Tell | None = None,
) -> Outcome:
    """Restore the job's products from the cache, or execute the notebook and cache them."""
    env = os.environ if environ is None else environ
    options = cache or CacheSettings.from_env(env)
    build = env.get(ENV_BUILD) or "manual"
    for target in _all_targets(spec, cwd):
        remove_temps_of(target)
    try:
        store = Store.open(store_root(options.root, cwd, env))
    except OSError as exc:
        parts, _ = key_parts(spec, cwd, StatCache(None), None, options.packages)
        job = _Job(spec, cwd, None, StatCache(None), options, build, runner, tell)
        outcome = job.execute(parts.key, f"cache unavailable ({exc.strerror or exc})")
        return _with_notice(outcome, cwd, build, _unusable(store_root(options.root, cwd, env), exc))
    with StatCache(store.stat_cache_path()) as stats:
        job = _Job(spec, cwd, store, stats, options, build, runner, tell)
        return job.run(_bypass(spec, Force.from_env(env)))


@dataclass(frozen=True, slots=True)
class _Job:
    spec: JobSpec
    cwd: Path
    store: Store | None
    stats: StatCache
    options: CacheSettings
    build: str
    runner: Runner
    tell: Tell | None

    @property
    def cache(self) -> Store:
        assert self.store is not None
        return self.store

    def run(self, bypass: str = "") -> Outcome:
        """Restore, or execute and publish; ``bypass``: why the cache must not serve it."""
        memo = DirectoryMemo(self.cache.root / "normalized")
        tables = TableMemo.in_store(self.cache.root)
        parts, code = key_parts(
            self.spec, self.cwd, self.stats, memo, self.options.packages, tables
        )
        document = parts.document()
        self._remember_roots()
        if bypass:
            outcome = self._bypassed(parts.key, bypass, memo, code.digest)
        else:
            found = self.restore(parts.key)
            if isinstance(found, Outcome):
                outcome = found
            else:
                reason = found or miss_reason(
                    document, self.cache.read_last(self.spec.name, self.spec.results)
                )
                outcome = self._run_once(parts.key, reason, memo, code.digest)
        with contextlib.suppress(OSError, CacheError):
            source = self.cache.put_source(self.cwd / self.spec.source)
            self.cache.write_last(
                self.spec.name,
                self.spec.results,
                document,
                key=parts.key,
                source=source,
                code=code.parts,
            )
        self._record(outcome, "hit" if outcome.hit else "miss")
        return outcome

    def _bypassed(self, key: str, reason: str, memo: DirectoryMemo, code: str) -> Outcome:
        """Execute whatever the cache holds: forced (then republish), or ``cache = False``."""
        try:
            outcome = self.execute(key, reason)
        except BaseException:
            self._record(Outcome(self.spec.name, key, False, reason), "error")
            raise
        return self._publish(outcome, memo, code) if self.spec.cacheable else outcome

    def _run_once(self, key: str, reason: str, memo: DirectoryMemo, code: str) -> Outcome:
        """Execute under the key's lease, or restore what a concurrent build made."""
        start = time.monotonic()
        lease, problem = self._lease(key)
        if lease is None and problem is None:  # another build published the entry
            found = self.restore(key)
            if isinstance(found, Outcome):
                waited = time.monotonic() - start
                return replace(found, waited=waited if waited >= _NOTICEABLE else 0.0)
            reason = found or reason
        try:
            if lease is not None:
                found = self.restore(key) if self.cache.has(key) else ""
                if isinstance(found, Outcome):  # published between our lookup and the lease
                    return found
                lease.heartbeat()
            try:
                outcome = self.execute(key, reason)
            except BaseException:
                self._record(Outcome(self.spec.name, key, False, reason), "error")
                raise
            outcome = self._publish(outcome, memo, code)
        finally:
            if lease is not None:
                lease.release()
        return _with_notice(outcome, self.cwd, self.build, problem)

    def _lease(self, key: str) -> tuple[Lease | None, _Notice | None]:
        """The key's lease; ``(None, None)`` once the entry exists; ``(None, why)``."""
        try:
            lease = acquire_or_wait(
                self.cache.root,
                key,
                lambda: self.cache.has(key),
                task=self.spec.name,
                timeout=self.options.lease_timeout,
                on_wait=self._waiting,
            )
        except OSError as exc:
            return None, _unwritable(self.cache.root, exc)
        return lease, None

    def _waiting(self, holder: Holder | None) -> None:
        if self.tell is not None:
            who = holder.describe() if holder is not None else "an unreadable lease"
            self.tell(f"nbrules: {self.spec.name}: another build is running it ({who}); waiting")

    # -- restore

    def restore(self, key: str) -> Outcome | str:
        """A hit's outcome, or why there is none ('' for a plain miss)."""
        try:
            manifest = self.cache.lookup(key)
            if manifest is None:
                return ""
            self._materialise(manifest)
        except DamagedEntry as damage:
            self.cache.drop(key, damage.bad_object)
            return f"cache entry damaged: {damage.message}"
        except OSError as exc:
            return f"restore failed: {exc}"
        self.cache.touch(key)
        return Outcome(self.spec.name, key, hit=True, restored=len(manifest.products))

    def _materialise(self, manifest: Manifest) -> None:
        products, notebook = _targets(self.spec, self.cwd)
        self.cache.restore(
            manifest,
            products,
            notebook,
            link=self.options.link,
            trust=self.stats,
            verify=self.options.verify,
        )
        self._remember(manifest, products)

    def _remember(self, manifest: Manifest, products: Mapping[str, Path]) -> None:
        """Digests of the files just written, so downstream jobs need not read them."""
        for name, entry in manifest.products.items():
            if entry.files is None:
                self.stats.remember(products[name], entry.object)
            for file in entry.files or ():
                self.stats.remember(products[name] / file.path, file.object)

    # -- execute and publish

    def execute(self, key: str, reason: str) -> Outcome:
        root = self.cwd / self.spec.results
        skip = [(self.cwd / self.spec.log).parent]
        if self.store is not None:
            skip.append(self.store.root)
        before = outputs.snapshot(root, skip)
        start = time.perf_counter()
        self.runner(self.spec, self.cwd)
        seconds = time.perf_counter() - start
        found = outputs.written(before, outputs.snapshot(root, skip))
        declared = {*self.spec.relative_products.values()}
        declared |= read_declared(self.cwd, self.spec.results)
        lines = outputs.warnings(
            self.spec.source,
            self.spec.name,
            self.spec.results,
            outputs.undeclared(found, declared),
        )
        return Outcome(self.spec.name, key, False, reason, seconds=seconds, warnings=tuple(lines))

    def _publish(self, outcome: Outcome, memo: DirectoryMemo, code: str) -> Outcome:
        """Cache the products, unless the code changed while the notebook ran."""
        if spec_code(self.spec, self.cwd, memo).digest != code:
            return replace(outcome, note="not cached: the code changed while it ran")
        products, notebook = _targets(self.spec, self.cwd)
        relative = self.spec.relative_products
        try:
            manifest = self.cache.publish(
                outcome.key,
                self.spec.name,
                {name: (path, relative[name]) for name, path in products.items()},
                (notebook, notebook.name) if notebook is not None else None,
                outcome.seconds,
            )
        except CacheError as exc:
            return replace(outcome, note=f"not cached: {exc.message}")
        except OSError as exc:
            noted = replace(outcome, note=f"not cached: {exc.strerror or exc}")
            return _with_notice(noted, self.cwd, self.build, _unwritable(self.cache.root, exc))
        self._remember(manifest, products)
        return outcome

    # -- bookkeeping

    def _remember_roots(self) -> None:
        with contextlib.suppress(OSError):
            self.cache.remember_root(self.cwd / self.spec.results)
            self.cache.remember_root((self.cwd / self.spec.log).parent)

    def _record(self, outcome: Outcome, result: str) -> None:
        with contextlib.suppress(OSError):
            self.cache.record_event(
                self.build,
                {
                    "task": self.spec.name,
                    "results": self.spec.results,
                    "key": outcome.key,
                    "result": result,
                    "seconds": round(outcome.seconds, 3),
                    "waited": round(outcome.waited, 3),
                    "reason": outcome.reason,
                },
            )


def _bypass(spec: JobSpec, force: Force) -> str:
    """Why this job must execute whatever the cache holds ('' if it need not)."""
    if not spec.cacheable:
        return "cache = False: it executes whenever it is scheduled"
    if force.covers(spec.name):
        return "forced (--forceall, --forcerun or --force)"
    return ""


def _targets(spec: JobSpec, cwd: Path) -> tuple[dict[str, Path], Path | None]:
    products = {name: cwd / path for name, path in spec.plain_products.items()}
    executed = NB_KEY in spec.products or spec.kind != "notebook"  # no notebook to keep
    notebook = None if executed else executed_notebook_path(spec, cwd)
    return products, notebook


def _all_targets(spec: JobSpec, cwd: Path) -> list[Path]:
    products, notebook = _targets(spec, cwd)
    return [*products.values(), *([notebook] if notebook is not None else [])]


@dataclass(frozen=True, slots=True)
class _Notice:
    """A warning given once per build (:mod:`.notices`)."""

    kind: str
    lines: tuple[str, ...]


def _unwritable(root: Path, exc: OSError) -> _Notice | None:
    """The warning for a store that cannot be written, if that is why ``exc`` happened."""
    if exc.errno not in _UNWRITABLE:
        return None
    return _Notice(
        "store-unwritable",
        (
            f"warning: the cache store {root} cannot be written ({exc.strerror}): products "
            "are delivered but not cached, and concurrent builds may run a notebook twice",
            "hint: free space, or point NBRULES_CACHE (or nbrules: {cache: …}) at a "
            "writable folder",
        ),
    )


def _unusable(root: Path, exc: OSError) -> _Notice:
    return _Notice(
        "store-unusable",
        (
            f"warning: the cache store {root} is unusable ({exc.strerror or exc}): "
            "notebooks run uncached",
            "hint: point NBRULES_CACHE (or nbrules: {cache: …}) at a writable folder",
        ),
    )


def _with_notice(outcome: Outcome, cwd: Path, build: str, notice: _Notice | None) -> Outcome:
    """``outcome`` with ``notice`` among its warnings, if no job of the build gave it yet."""
    if notice is None or not notices.first_time(cwd, build, notice.kind):
        return outcome
    return replace(outcome, warnings=(*outcome.warnings, *notice.lines))

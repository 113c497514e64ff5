"""Cache hits known before submission, so a cluster never queues a mere restore.

On a cluster every submitted job pays a queue wait and, with the SLURM plugin, at
least ≈11 s of status polling — even a job that only restores its products from
the cache. So, when Snakemake parses the workflow, nbrules computes the cache key
of every notebook it can know for sure and looks it up; a notebook whose key is in
the store becomes a *local* rule outside any job group (see ``nbrules.snakemake.rules``).
Snakemake then runs its job in the main process, where it restores the products
in milliseconds, and submits nothing for it.

A key is known for sure when every input that enters it is the product of an
upstream notebook that is itself a predicted hit: its manifest names the exact
bytes that restoring it yields (and an input already on disk must have those
bytes). A notebook downstream of anything that may still execute is never
predicted: it is submitted as usual. A wrong guess is impossible by construction
except when the store changes between parse and run (an entry evicted meanwhile);
the job then simply executes, locally.

Only cheap work happens here: one manifest read per notebook, and the digest of
an upstream product already on disk (answered by the stat cache when unchanged).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from ..cache.statcache import StatCache
from ..cache.store import Manifest, Store, store_root
from ..cache.tables import TableMemo, is_table_path
from ..cache.trees import path_digest
from ..common.errors import DamagedEntry
from .jobspec import JobSpec
from .keys import spec_key_parts
from .settings import CacheSettings, Force


def predicted_hits(
    jobs: Sequence[tuple[JobSpec, str]],
    cache: CacheSettings,
    cwd: Path,
    environ: Mapping[str, str] | None = None,
    force: Force | None = None,
) -> frozenset[str]:
    """Names of the tasks whose job will restore from the cache.

    ``jobs`` are ``(spec, code digest)`` pairs in topological order.
    """
    force = force or Force()
    if not jobs or cache.packages:
        return frozenset()  # package versions: asked of the kernel's interpreter per job
    root = store_root(cache.root, cwd, os.environ if environ is None else environ)
    if not (root / "manifests").is_dir():
        return frozenset()
    store = Store(root)
    hits: dict[str, Manifest] = {}
    with StatCache(store.stat_cache_path()) as stats:
        for spec, code in jobs:
            if not spec.cacheable or force.covers(spec.name):
                continue  # it executes: neither it nor its downstream is certain
            inputs = _known_inputs(spec, hits, cwd, stats, TableMemo.in_store(root))
            if inputs is None:
                continue
            key = spec_key_parts(spec, code, inputs).key
            try:
                manifest = store.lookup(key)
            except DamagedEntry:
                continue  # the job reports it ("cache entry damaged") and runs
            if manifest is not None and set(manifest.products) == set(spec.products):
                hits[spec.name] = manifest
    return frozenset(hits)


def _known_inputs(
    spec: JobSpec, hits: Mapping[str, Manifest], cwd: Path, stats: StatCache, tables: TableMemo
) -> dict[str, str] | None:
    """The key's input digests, or ``None`` if one is not certain yet.

    A table input enters by its table digest, known here only if memoized (no table is
    decoded while Snakemake parses).
    """
    inputs: dict[str, str] = {}
    for name, path in sorted(spec.key_inputs.items()):
        upstream, _, product = name.partition("/")
        manifest = hits.get(upstream)
        entry = manifest.products.get(product) if manifest is not None else None
        if entry is None:
            return None
        on_disk = cwd / path
        try:
            if on_disk.exists() and path_digest(on_disk, stats.digest) != entry.object:
                return None  # Snakemake may keep these bytes rather than restore
        except OSError:
            return None
        digest = tables.get(entry.object) if is_table_path(path) else entry.object
        if digest is None:
            return None
        inputs[name] = digest
    return inputs

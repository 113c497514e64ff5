"""Cache maintenance behind ``nbrules cache stats|verify|gc``: pure logic, no printing.

- :func:`stats`: entries, objects, bytes, and the hits/misses of the last build
  (events are grouped by ``$NBRULES_BUILD_ID``, set once per Snakemake run);
- :func:`verify`: recompute every object's digest; drop bad objects, every entry
  that references a bad or missing object, and unreadable manifests;
- :func:`gc`: drop entries unused for N days and/or least recently used entries
  until the objects still referenced fit a size limit; then objects no entry
  references and stale temp files. Objects and temp files younger than
  :data:`GRACE_SECONDS` are spared: a concurrent publish may be about to use them.
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ..common.errors import CacheError
from .digests import ALGORITHM, digest_file, short
from .statcache import StatCache
from .store import Manifest, Store

GRACE_SECONDS = 3600.0
_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}


def parse_size(text: str) -> int:
    """``500M``, ``10G``, ``1.5TiB``, ``123`` (bytes) → bytes (powers of 1024)."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*", text.lower())
    if not match:
        raise CacheError(f"cannot read size {text!r}", hint="e.g. 500M, 10G, 1T")
    return int(float(match.group(1)) * _UNITS[match.group(2)])


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"


# ---------------------------------------------------------------- scanning


@dataclass(frozen=True, slots=True)
class Listed:
    """A manifest as found on disk: its key, last use (mtime) and content."""

    path: Path
    used: float
    manifest: Manifest | None


def manifests(store: Store) -> Iterator[Listed]:
    for path in sorted((store.root / "manifests").glob("*.json")):
        try:
            used = path.stat().st_mtime
        except FileNotFoundError:
            continue
        try:
            manifest: Manifest | None = Manifest.from_json(path.read_text(encoding="utf-8"))
        except (OSError, ValueError, KeyError, TypeError):
            manifest = None
        yield Listed(path, used, manifest)


def objects(store: Store) -> Iterator[tuple[str, Path]]:
    """(tagged digest, path) of every object file."""
    for path in sorted((store.root / "objects").glob("??/*")):
        if re.fullmatch(r"[0-9a-f]{32}", path.name) and path.parent.name == path.name[:2]:
            yield f"{ALGORITHM}:{path.name}", path


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


# ---------------------------------------------------------------- stats


@dataclass(frozen=True, slots=True)
class Stats:
    root: Path
    entries: int
    objects: int
    bytes: int
    build: str | None = None
    hits: int = 0
    misses: int = 0
    errors: int = 0
    executed: tuple[str, ...] = ()

    @property
    def hit_ratio(self) -> float | None:
        jobs = self.hits + self.misses
        return self.hits / jobs if jobs else None


def stats(store: Store, build: str | None = None) -> Stats:
    """Store totals and the events of ``build`` (default: the most recent build)."""
    entries = sum(1 for _ in (store.root / "manifests").glob("*.json"))
    found = [_size(path) for _, path in objects(store)]
    build = build or last_build(store)
    events = list(build_events(store, build)) if build else []
    count = {r: sum(1 for e in events if e.get("result") == r) for r in ("hit", "miss", "error")}
    executed = tuple(str(e.get("task")) for e in events if e.get("result") == "miss")
    return Stats(
        store.root,
        entries,
        len(found),
        sum(found),
        build,
        count["hit"],
        count["miss"],
        count["error"],
        executed,
    )


def last_build(store: Store) -> str | None:
    newest: tuple[float, str] | None = None
    for folder in (store.root / "events").glob("*"):
        times = [_mtime(f) for f in folder.glob("*.jsonl")]
        if times and (newest is None or max(times) > newest[0]):
            newest = (max(times), folder.name)
    return newest[1] if newest else None


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:
        return 0.0


def build_events(store: Store, build: str) -> Iterator[dict[str, object]]:
    """Every event of one build (a torn line from a crash is skipped)."""
    for path in sorted(store.events_dir(build).glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            with contextlib.suppress(ValueError):
                event = json.loads(line)
                if isinstance(event, dict):
                    yield event


# ---------------------------------------------------------------- verify


@dataclass(frozen=True, slots=True)
class VerifyReport:
    checked: int
    problems: list[str] = field(default_factory=list)
    dropped_objects: int = 0
    dropped_entries: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(store: Store) -> VerifyReport:
    """Recompute every object digest; drop what is bad and the entries that need it."""
    problems: list[str] = []
    bad: set[str] = set()
    checked = 0
    for digest, path in objects(store):
        checked += 1
        try:
            actual = digest_file(path)
        except OSError as exc:
            actual = f"unreadable ({exc.strerror})"
        if actual != digest:
            problems.append(f"object {short(digest)}: content digest is {short(actual)}")
            bad.add(digest)
            path.unlink(missing_ok=True)
    dropped = 0
    for listed in manifests(store):
        reason = _entry_problem(store, listed, bad)
        if reason:
            problems.append(f"entry {listed.path.stem[:12]}: {reason}")
            listed.path.unlink(missing_ok=True)
            dropped += 1
    return VerifyReport(checked, problems, len(bad), dropped)


def _entry_problem(store: Store, listed: Listed, bad: set[str]) -> str:
    if listed.manifest is None:
        return "unreadable manifest"
    for entry in listed.manifest.entries():
        if entry.object in bad:
            return f"references corrupt object {short(entry.object)} ({entry.path})"
        if _size(store.object_path(entry.object)) != entry.size:
            return f"object {short(entry.object)} missing or of the wrong size ({entry.path})"
    return ""


# ---------------------------------------------------------------- gc


@dataclass(frozen=True, slots=True)
class GcReport:
    entries: int
    objects: int
    bytes: int
    kept_entries: int
    kept_bytes: int
    dry_run: bool


def gc(
    store: Store,
    *,
    older_than_days: float | None = None,
    max_size: int | None = None,
    dry_run: bool = False,
    now: float | None = None,
    grace: float = GRACE_SECONDS,
) -> GcReport:
    """Evict old / least recently used entries, then unreferenced objects."""
    now = time.time() if now is None else now
    listed = sorted(manifests(store), key=lambda item: item.used)
    keep = [m for m in listed if m.manifest is not None]
    if older_than_days is not None:
        horizon = now - older_than_days * 86400
        keep = [m for m in keep if m.used >= horizon]
    sizes = {digest: _size(path) for digest, path in objects(store)}
    if max_size is not None:
        keep = _fit(keep, sizes, max_size)
    kept = {id(m) for m in keep}
    victims = [m for m in listed if id(m) not in kept]
    live = {e.object for m in keep if m.manifest for e in m.manifest.entries()}
    live |= last_sources(store)  # the code `nbrules status` diffs against
    was_live = {e.object for m in victims if m.manifest for e in m.manifest.entries()}
    garbage = [
        (digest, path)
        for digest, path in objects(store)
        if digest not in live and (digest in was_live or now - _mtime(path) > grace)
    ]
    if not dry_run:
        for item in victims:
            item.path.unlink(missing_ok=True)
        for _, path in garbage:
            path.unlink(missing_ok=True)
        _sweep_temp(store, now, grace)
        if older_than_days is not None:
            _sweep_old(store, now - older_than_days * 86400)
    freed = sum(sizes.get(digest, 0) for digest, _ in garbage)
    return GcReport(
        len(victims), len(garbage), freed, len(keep), sum(sizes.get(d, 0) for d in live), dry_run
    )


def last_sources(store: Store) -> set[str]:
    """Source objects named by the tasks' last key documents."""
    found = set()
    for path in (store.root / "last").glob("*.json"):
        with contextlib.suppress(OSError, ValueError, AttributeError):
            source = json.loads(path.read_text(encoding="utf-8")).get("source")
            if isinstance(source, str) and source:
                found.add(source)
    return found


def _fit(keep: list[Listed], sizes: dict[str, int], max_size: int) -> list[Listed]:
    """Drop the least recently used entries until the objects they keep fit."""
    refs: dict[str, int] = {}
    for item in keep:
        for digest in _objects_of(item):
            refs[digest] = refs.get(digest, 0) + 1
    total = sum(sizes.get(d, 0) for d in refs)
    kept = list(keep)
    while kept and total > max_size:
        oldest = kept.pop(0)
        for digest in _objects_of(oldest):
            refs[digest] -= 1
            if not refs[digest]:
                total -= sizes.get(digest, 0)
    return kept


def _objects_of(item: Listed) -> set[str]:
    return {e.object for e in item.manifest.entries()} if item.manifest else set()


def _sweep_temp(store: Store, now: float, grace: float) -> None:
    """Temp files of publishes (and atomic writes) that a crash left behind."""
    leftovers = [
        *store.tmp.glob("*"),
        *(store.root / "last").glob(".*.tmp"),
        *(store.root / "normalized").glob("??/.*.tmp"),
    ]
    for path in leftovers:
        if now - _mtime(path) > grace:
            path.unlink(missing_ok=True)


def _sweep_old(store: Store, horizon: float) -> None:
    """Events of old builds, memos and stat-cache rows not written since ``horizon``."""
    for folder in (store.root / "events").glob("*"):
        if all(_mtime(f) < horizon for f in folder.glob("*")):
            shutil.rmtree(folder, ignore_errors=True)
    for path in (store.root / "normalized").glob("??/*.json"):
        if _mtime(path) < horizon:
            path.unlink(missing_ok=True)
    for path in (store.root / "stat").glob("*.sqlite"):
        with StatCache(path) as stats:
            stats.forget_before(horizon)

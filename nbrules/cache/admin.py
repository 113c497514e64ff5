"""Cache maintenance behind ``nbrules cache stats|verify|gc``: pure logic, no printing.

- :func:`stats`: entries, objects, bytes, and the hits/misses of the last build
  (events are grouped by ``$NBRULES_BUILD_ID``, set once per Snakemake run);
- :func:`verify`: recompute every object's digest; drop bad objects, every entry
  that references a bad or missing object, and unreadable manifests;
- :func:`gc`: drop entries unused for N days and/or least recently used entries
  until the objects still referenced fit a size limit; then objects no entry
  references, stale temp files (in the store, and ``.*.nbrules-tmp`` files a
  killed restore left in the output folders the store served), and leases whose
  holder stopped its heartbeat. Objects, temp files and leases younger than
  :data:`GRACE_SECONDS` are spared: a concurrent build may be about to use them.

Nothing here follows a symbolic link inside the store: a link planted in place
of an object or a manifest is reported and removed, never read.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import stat
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from ..common.errors import CacheError, DamagedEntry
from ..common.files import TMP_SUFFIX, is_temp, remove_path
from .digests import ALGORITHM, digest_stream, short
from .statcache import StatCache
from .store import Manifest, Store
from .transfer import open_inside

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
    """Every manifest; ``manifest`` is ``None`` for a damaged one (garbled, a link, …)."""
    for path in _entries(store.root / "manifests"):
        try:
            used = os.lstat(path).st_mtime
        except FileNotFoundError:
            continue
        try:
            manifest = store.lookup(f"{ALGORITHM}:{path.stem}")
        except (DamagedEntry, ValueError, OSError):
            manifest = None
        yield Listed(path, used, manifest)


def _entries(folder: Path) -> list[Path]:
    """The files of a store folder, not following it if it was replaced by a link."""
    if folder.is_symlink() or not folder.is_dir():
        return []
    return sorted(path for path in folder.iterdir() if not is_temp(path.name))


def objects(store: Store) -> Iterator[tuple[str, Path]]:
    """(tagged digest, path) of every object file (or whatever sits in its place)."""
    for folder in _entries(store.root / "objects"):
        for path in _entries(folder):
            if re.fullmatch(r"[0-9a-f]{32}", path.name) and folder.name == path.name[:2]:
                yield f"{ALGORITHM}:{path.name}", path


def _size(path: Path) -> int:
    """A regular file's size; -1 for anything else (a link, a folder, nothing)."""
    try:
        st = os.lstat(path)
    except OSError:
        return -1
    return st.st_size if stat.S_ISREG(st.st_mode) else -1


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
    entries = len(_entries(store.root / "manifests"))
    found = [max(_size(path), 0) for _, path in objects(store)]
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
        return os.lstat(path).st_mtime
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
    for folder in ("objects", "manifests"):
        if (store.root / folder).is_symlink():
            problems.append(f"{folder}/ is a symbolic link: removed")
            remove_path(store.root / folder)
            (store.root / folder).mkdir()
    for digest, path in objects(store):
        checked += 1
        problem = _object_problem(store, digest)
        if problem:
            problems.append(f"object {short(digest)}: {problem}")
            bad.add(digest)
            with contextlib.suppress(OSError):
                remove_path(path)
    dropped = 0
    for listed in manifests(store):
        reason = _entry_problem(store, listed, bad)
        if reason:
            problems.append(f"entry {listed.path.stem[:12]}: {reason}")
            with contextlib.suppress(OSError):
                listed.path.unlink()
            dropped += 1
    return VerifyReport(checked, problems, len(bad), dropped)


def _object_problem(store: Store, digest: str) -> str:
    """Why an object is bad ('' if it is good): read without following links."""
    name = digest.split(":", 1)[1]
    try:
        fd = open_inside(store.root, PurePosixPath("objects", name[:2], name))
    except OSError as exc:
        return f"unreadable or a symbolic link ({exc.strerror})"
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return "not a regular file"
        os.set_blocking(fd, True)
        actual = digest_stream(handle)
    return "" if actual == digest else f"content digest is {short(actual)}"


def _entry_problem(store: Store, listed: Listed, bad: set[str]) -> str:
    if listed.manifest is None:
        return "unreadable manifest (garbled, a link, or another key's)"
    for entry in listed.manifest.entries():
        for digest, size in entry.objects():
            if digest in bad:
                return f"references corrupt object {short(digest)} ({entry.path})"
            if _size(store.object_path(digest)) != size:
                return f"object {short(digest)} missing or of the wrong size ({entry.path})"
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
    temps: int = 0


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
    live = {digest for m in keep for digest in _objects_of(m)}
    live |= last_sources(store)  # the code `nbrules status` diffs against
    was_live = {digest for m in victims for digest in _objects_of(m)}
    garbage = [
        (digest, path)
        for digest, path in objects(store)
        if digest not in live and (digest in was_live or now - _mtime(path) > grace)
    ]
    temps = 0 if dry_run else _remove(store, victims, garbage, now, grace, older_than_days)
    freed = sum(max(sizes.get(digest, 0), 0) for digest, _ in garbage)
    kept_bytes = sum(max(sizes.get(d, 0), 0) for d in live)
    return GcReport(len(victims), len(garbage), freed, len(keep), kept_bytes, dry_run, temps)


def _remove(
    store: Store,
    victims: list[Listed],
    garbage: list[tuple[str, Path]],
    now: float,
    grace: float,
    older_than_days: float | None,
) -> int:
    """Remove evicted entries, garbage objects and leftovers; how many leftovers went."""
    for item in victims:
        item.path.unlink(missing_ok=True)
    for _, path in garbage:
        with contextlib.suppress(OSError):
            remove_path(path)
    if older_than_days is not None:
        _sweep_old(store, now - older_than_days * 86400)
    return _sweep_temp(store, now, grace)


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
    return {digest for digest, _ in item.manifest.objects()} if item.manifest else set()


def _sweep_temp(store: Store, now: float, grace: float) -> int:
    """Remove what crashes left, once older than ``grace``; how many paths went.

    Temp files of publishes and atomic writes in the store, leases whose holder
    stopped its heartbeat, and ``.*.nbrules-tmp`` files and staged folders a killed
    restore left in the output folders the store served on this host.
    """
    leftovers = [
        *store.tmp.glob("*"),
        *(store.root / "leases").glob("*"),
        *(store.root / "last").glob(f".*{TMP_SUFFIX}"),
        *(store.root / "normalized").glob(f"??/.*{TMP_SUFFIX}"),
    ]
    for root in store.roots():
        leftovers += output_temps(root, store.root)
    removed = 0
    for path in leftovers:
        if now - _mtime(path) > grace:
            with contextlib.suppress(OSError):
                remove_path(path)
                removed += 1
    return removed


def output_temps(root: Path, skip: Path) -> list[Path]:
    """``.*.nbrules-tmp`` files and folders under an output folder (not inside ``skip``)."""
    found: list[Path] = []
    skipped = {os.path.realpath(skip)}
    for top, dirs, files in os.walk(root, onerror=lambda error: None):
        here = Path(top)
        found += [here / name for name in files if is_temp(name)]
        found += [here / name for name in dirs if is_temp(name)]
        dirs[:] = [
            name
            for name in dirs
            if not is_temp(name)
            and name not in (".git", ".snakemake")
            and os.path.realpath(here / name) not in skipped
        ]
    return found


def _sweep_old(store: Store, horizon: float) -> None:
    """Events of old builds, memos and stat-cache rows not written since ``horizon``."""
    for folder in (store.root / "events").glob("*"):
        if all(_mtime(f) < horizon for f in folder.glob("*")):
            shutil.rmtree(folder, ignore_errors=True)
    for path in (store.root / "normalized").glob("??/*.json"):
        if _mtime(path) < horizon:
            path.unlink(missing_ok=True)
    with StatCache(store.stat_cache_path()) as stats:
        stats.forget_before(horizon)

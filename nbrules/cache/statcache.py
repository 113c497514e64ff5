"""The stat cache: a file's ``stat`` signature → its content digest, in SQLite.

It maps ``(st_dev, st_ino, st_size, st_mtime_ns, st_ctime_ns)`` to a digest, so an
unchanged input is never read again. Any write to a file changes its mtime and
ctime (a ``touch`` too), so a stale entry is never used; the worst a lost or stale
database costs is one re-read. A second table remembers the store objects this host
hashed and found good (:mod:`nbrules.cache.transfer`), by device, inode, size and
mtime (not ctime: linking a restored product changes the object's ctime).

**Where it lives: on this host, never in the store.** SQLite's locks, and its
write-ahead log's shared memory, are not safe on a network file system, even from
one host; and stat signatures (inode numbers, device ids) are only meaningful on
the host that took them. So the database is
``$NBRULES_STAT_CACHE/<host>-<store id>.sqlite``, else
``$XDG_CACHE_HOME/nbrules/stat/…`` (``~/.cache/nbrules/stat/…``) — unless that
folder is itself on a network file system (a home directory on NFS, common on
clusters), in which case it is ``<tmp>/nbrules-<uid>/stat/…``. The store id is a
digest of the store's resolved path: one database per store and host.
"""

from __future__ import annotations

import contextlib
import os
import socket
import sqlite3
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

from ..common.text import safe_name
from .digests import digest_file, digest_text, hex_part

ENV_STAT_DIR = "NBRULES_STAT_CACHE"
#: File system types (``/proc/self/mounts``) on which SQLite must not keep its locks.
NETWORK_FS = frozenset(
    {
        "nfs", "nfs4", "cifs", "smb3", "smbfs", "lustre", "gpfs", "beegfs", "ceph", "glusterfs",
        "9p", "afs", "panfs", "wekafs", "orangefs", "pvfs2", "fuse.sshfs", "fuse.glusterfs",
        "fuse.cephfs", "fuse.gcsfuse", "fuse.s3fs", "fuse.juicefs",
    }
)  # fmt: skip


def stat_cache_path(store_root: Path, environ: Mapping[str, str] | None = None) -> Path:
    """This host's stat cache for the store at ``store_root`` (see the module docstring)."""
    env = os.environ if environ is None else environ
    ident = hex_part(digest_text(str(store_root.resolve())))[:16]
    return _stat_folder(env) / f"{safe_name(socket.gethostname())}-{ident}.sqlite"


def _stat_folder(env: Mapping[str, str]) -> Path:
    explicit = env.get(ENV_STAT_DIR)
    if explicit:
        return Path(explicit).expanduser()
    fallback = Path(tempfile.gettempdir()) / f"nbrules-{os.getuid()}" / "stat"
    try:
        base = Path(env.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "nbrules" / "stat"
    except RuntimeError:  # no home directory
        return fallback
    return fallback if filesystem_type(base) in NETWORK_FS else base


def filesystem_type(path: Path, mounts: Path = Path("/proc/self/mounts")) -> str | None:
    """The type of the file system holding ``path`` (``None`` if unknown)."""
    try:
        table = mounts.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    target = os.path.realpath(path)
    best: tuple[int, str] | None = None
    for line in table:
        fields = line.split()
        if len(fields) < 3:
            continue
        point = fields[1].replace("\\040", " ").replace("\\011", "\t")
        inside = target == point or target.startswith(point.rstrip("/") + "/")
        if inside and (best is None or len(point) > best[0]):
            best = (len(point), fields[2])
    return best[1] if best else None


def stat_signature(st: os.stat_result) -> tuple[int, int, int, int, int]:
    """What a write to the file always changes (besides its content)."""
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


RACY_NS = 50_000_000
"""A file changed less than this before it was read may change again within one
timestamp tick without its stat signature changing: its digest is not remembered."""


class StatCache:
    """``stat`` signature → digest, in SQLite (WAL: many jobs read and write at once).

    ``StatCache(None)`` disables caching. Any SQLite error disables it for the rest
    of the process instead of failing the job: it is an optimisation, never a source
    of truth.
    """

    _SCHEMA = (
        "CREATE TABLE IF NOT EXISTS digests (dev INTEGER, ino INTEGER, size INTEGER, "
        "mtime_ns INTEGER, ctime_ns INTEGER, digest TEXT, seen REAL, "
        "PRIMARY KEY (dev, ino))",
        "CREATE TABLE IF NOT EXISTS verified (dev INTEGER, ino INTEGER, size INTEGER, "
        "mtime_ns INTEGER, digest TEXT, seen REAL, PRIMARY KEY (dev, ino))",
    )

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._db: sqlite3.Connection | None = None
        if path is not None:
            self._db = self._open(path)

    @classmethod
    def _open(cls, path: Path) -> sqlite3.Connection | None:
        """Connect; a corrupt database is deleted and started afresh (it is a cache)."""
        for attempt in (1, 2):
            try:
                return cls._connect(path)
            except sqlite3.DatabaseError as exc:
                if type(exc) is not sqlite3.DatabaseError or attempt == 2:
                    return None  # e.g. locked for 30 s: run without it
                for suffix in ("", "-wal", "-shm"):
                    with contextlib.suppress(OSError):
                        os.unlink(f"{path}{suffix}")
            except (sqlite3.Error, OSError):
                return None
        return None

    @staticmethod
    def _connect(path: Path) -> sqlite3.Connection:
        path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(path, timeout=30.0, isolation_level=None)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            for schema in StatCache._SCHEMA:
                db.execute(schema)
        except sqlite3.Error:
            db.close()
            raise
        return db

    def _query(self, sql: str, args: tuple[object, ...]) -> list[tuple[object, ...]]:
        if self._db is None:
            return []
        try:
            return list(self._db.execute(sql, args).fetchall())
        except sqlite3.Error:
            self.close()
            return []

    def lookup(self, st: os.stat_result) -> str | None:
        """The digest recorded for exactly this stat signature, if any."""
        rows = self._query(
            "SELECT digest FROM digests WHERE dev=? AND ino=? AND size=? "
            "AND mtime_ns=? AND ctime_ns=?",
            stat_signature(st),
        )
        return str(rows[0][0]) if rows else None

    def record(self, st: os.stat_result, digest: str) -> None:
        """Remember ``digest`` for the file that ``st`` describes."""
        self._query(
            "INSERT OR REPLACE INTO digests VALUES (?, ?, ?, ?, ?, ?, ?)",
            (*stat_signature(st), digest, time.time()),
        )

    def digest(self, path: Path) -> str:
        """The content digest of ``path``: remembered, or read (and remembered).

        The signature is taken *before* reading, so a write during the read leaves
        an entry that no later ``stat`` matches.
        """
        before = os.stat(path)
        cached = self.lookup(before)
        if cached is not None:
            return cached
        digest = digest_file(path)
        if time.time_ns() - max(before.st_mtime_ns, before.st_ctime_ns) > RACY_NS:
            self.record(before, digest)
        return digest

    def verified(self, st: os.stat_result) -> str | None:
        """The digest this host found when it last hashed the store object ``st`` describes."""
        rows = self._query(
            "SELECT digest FROM verified WHERE dev=? AND ino=? AND size=? AND mtime_ns=?",
            (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns),
        )
        return str(rows[0][0]) if rows else None

    def mark_verified(self, st: os.stat_result, digest: str) -> None:
        """Remember that the object ``st`` describes hashed to ``digest`` (see ``RACY_NS``)."""
        if time.time_ns() - st.st_mtime_ns > RACY_NS:
            self._query(
                "INSERT OR REPLACE INTO verified VALUES (?, ?, ?, ?, ?, ?)",
                (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, digest, time.time()),
            )

    def forget_before(self, horizon: float) -> None:
        """Drop entries recorded before ``horizon`` (a Unix time)."""
        self._query("DELETE FROM digests WHERE seen < ?", (horizon,))
        self._query("DELETE FROM verified WHERE seen < ?", (horizon,))

    def remember(self, path: Path, digest: str) -> None:
        """Record the digest of a file nbrules itself just wrote with that content."""
        with contextlib.suppress(OSError):
            self.record(os.stat(path), digest)

    def close(self) -> None:
        if self._db is not None:
            with contextlib.suppress(sqlite3.Error):
                self._db.close()
            self._db = None

    def __enter__(self) -> StatCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

"""The stat cache: a file's ``stat`` signature → its content digest, in SQLite.

It maps ``(st_dev, st_ino, st_size, st_mtime_ns, st_ctime_ns)`` to a digest, so an
unchanged input is never read again. Any write to a file changes its mtime and
ctime (a ``touch`` too), so a stale entry is never used; the worst a lost or stale
database costs is one re-read. One database per host (inode numbers and device ids
are per host), never on a path shared with other hosts' locks.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from pathlib import Path

from .digests import digest_file


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
        "PRIMARY KEY (dev, ino))"
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
            db.execute(StatCache._SCHEMA)
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

    def forget_before(self, horizon: float) -> None:
        """Drop entries recorded before ``horizon`` (a Unix time)."""
        self._query("DELETE FROM digests WHERE seen < ?", (horizon,))

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

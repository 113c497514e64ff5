"""The store: content-addressed objects, one manifest per key, atomic publish and restore.

::

    <root>/objects/ab/<hex>             product bytes by content digest, 0o444
    <root>/manifests/<key hex>.json     product → object, size, relative path;
                                        the executed notebook; mtime = last used
    <root>/last/<hex>.json              key document last seen per task + root
    <root>/events/<build>/<host>.jsonl  one line per job (hit, miss, error)
    <root>/normalized/ab/<hex>.json     code normalisation memo
    <root>/stat/<host>.sqlite           stat cache (stat signatures are per host)
    <root>/tmp/                         temp files of in-flight publishes

Publishing writes objects first (temp file in ``tmp/``, fsync, ``os.replace``),
the manifest last: a crash at any moment leaves at worst orphan objects or temp
files (``nbrules cache gc`` removes them), never a visible half-written entry.
Restoring stages each file beside its target and ``os.replace``-s it into place.
Maintenance (``stats``, ``verify``, ``gc``) lives in :mod:`nbrules.cache.admin`.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import socket
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from io import BufferedReader
from pathlib import Path
from typing import IO, Any

from ..common.errors import CacheError, DamagedEntry
from ..common.files import atomic_write_text, atomic_writer, temp_path
from ..common.text import canonical_json
from .digests import CHUNK, digest_bytes, digest_file, digest_stream, hex_part, short
from .key import FORMAT

DEFAULT_ROOT = ".nbrules/cache"
ENV_CACHE = "NBRULES_CACHE"
ENV_BUILD = "NBRULES_BUILD_ID"
LINK_MODES = ("copy", "hardlink", "symlink")
_FICLONE = 0x40049409


def store_root(configured: str | None, cwd: Path, environ: Mapping[str, str] | None = None) -> Path:
    """``$NBRULES_CACHE`` > config ``nbrules: {cache: …}`` > ``.nbrules/cache``."""
    env = os.environ if environ is None else environ
    value = env.get(ENV_CACHE) or configured or DEFAULT_ROOT
    return cwd / Path(str(value)).expanduser()


def new_build_id() -> str:
    return f"{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}-{secrets.token_hex(3)}"


# ---------------------------------------------------------------- manifests


@dataclass(frozen=True, slots=True)
class Entry:
    """One cached file: its object digest, size and path (relative to the root)."""

    object: str
    size: int
    path: str

    def to_dict(self) -> dict[str, Any]:
        return {"object": self.object, "size": self.size, "path": self.path}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Entry:
        hex_part(str(data["object"]))
        return cls(str(data["object"]), int(data["size"]), str(data["path"]))


@dataclass(frozen=True, slots=True)
class Manifest:
    """The cache entry of one key: every product, plus the executed notebook."""

    key: str
    task: str
    products: Mapping[str, Entry]
    notebook: Entry | None = None
    seconds: float = 0.0
    created: float = field(default_factory=time.time)

    def entries(self) -> Iterator[Entry]:
        yield from self.products.values()
        if self.notebook is not None:
            yield self.notebook

    def to_json(self) -> str:
        return json.dumps(
            {
                "format": FORMAT,
                "key": self.key,
                "task": self.task,
                "products": {k: e.to_dict() for k, e in sorted(self.products.items())},
                "notebook": self.notebook.to_dict() if self.notebook else None,
                "seconds": round(self.seconds, 3),
                "created": self.created,
            },
            indent=1,
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        data = json.loads(text)
        if data.get("format") != FORMAT:
            raise ValueError(f"manifest format {data.get('format')!r}")
        notebook = data.get("notebook")
        return cls(
            str(data["key"]),
            str(data["task"]),
            {str(k): Entry.from_dict(v) for k, v in data["products"].items()},
            Entry.from_dict(notebook) if notebook else None,
            float(data.get("seconds", 0.0)),
            float(data.get("created", 0.0)),
        )


# ---------------------------------------------------------------- the store


@dataclass(frozen=True, slots=True)
class Store:
    """A cache directory; every method is safe with concurrent jobs and builds."""

    root: Path

    @classmethod
    def open(cls, root: Path) -> Store:
        store = cls(root)
        for folder in ("objects", "manifests", "last", "events", "tmp"):
            (root / folder).mkdir(parents=True, exist_ok=True)
        return store

    @property
    def tmp(self) -> Path:
        return self.root / "tmp"

    def stat_cache_path(self) -> Path:
        return self.root / "stat" / f"{_safe(socket.gethostname())}.sqlite"

    def object_path(self, digest: str) -> Path:
        name = hex_part(digest)
        return self.root / "objects" / name[:2] / name

    def manifest_path(self, key: str) -> Path:
        return self.root / "manifests" / f"{hex_part(key)}.json"

    def lookup(self, key: str) -> Manifest | None:
        """The manifest of ``key``, or ``None`` (an unreadable one is dropped)."""
        path = self.manifest_path(key)
        try:
            manifest = Manifest.from_json(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError):
            self.drop(key)
            return None
        return manifest if manifest.key == key else None

    def touch(self, key: str) -> None:
        """Mark an entry used now (``gc`` evicts least recently used first)."""
        with contextlib.suppress(OSError):
            os.utime(self.manifest_path(key))

    def drop(self, key: str, bad_object: Path | None = None) -> None:
        for path in (self.manifest_path(key), bad_object):
            if path is not None:
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()

    # -- publish

    def publish(
        self,
        key: str,
        task: str,
        products: Mapping[str, tuple[Path, str]],
        notebook: tuple[Path, str] | None = None,
        seconds: float = 0.0,
    ) -> Manifest:
        """Store ``{name: (file, relative path)}`` and the notebook under ``key``.

        Idempotent: publishing a key again (even concurrently) rewrites the same
        manifest and reuses the same objects.
        """
        entries = {name: self._put(path, rel) for name, (path, rel) in products.items()}
        nb = self._put(*notebook) if notebook is not None else None
        manifest = Manifest(key, task, entries, nb, seconds)
        self._write_manifest(manifest)
        return manifest

    def _write_manifest(self, manifest: Manifest) -> None:
        with atomic_writer(self.manifest_path(manifest.key), 0o444, tmp_dir=self.tmp) as out:
            out.write(manifest.to_json().encode())

    def _put(self, source: Path, rel: str) -> Entry:
        with open(source, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            digest = digest_stream(handle)
        target = self.object_path(digest)
        if _has_size(target, size):
            with contextlib.suppress(OSError):
                os.utime(target)  # fresh mtime: gc spares young objects
            return Entry(digest, size, rel)
        with open(source, "rb") as src, atomic_writer(target, 0o444, tmp_dir=self.tmp) as out:
            copied = _copy(src, out, want_digest=True)
            if copied is not None and copied != digest:
                raise CacheError(f"{source} changed while it was being cached")
        return Entry(digest, size, rel)

    # -- restore

    def restore(
        self,
        manifest: Manifest,
        products: Mapping[str, Path],
        notebook: Path | None = None,
        *,
        link: str = "copy",
        verify: bool = False,
    ) -> None:
        """Materialise every product (and the notebook) of ``manifest``.

        Each file is staged beside its target, then moved into place, so no target
        is ever half-written. Raises :class:`DamagedEntry` if an object is missing,
        has the wrong size, or (``verify``) the wrong digest.
        """
        if set(products) != set(manifest.products):
            raise DamagedEntry(f"entry {short(manifest.key)} holds other products")
        plan = [(manifest.products[name], path) for name, path in products.items()]
        if manifest.notebook is not None and notebook is not None:
            plan.append((manifest.notebook, notebook))
        staged: list[tuple[Path, Path]] = []
        try:
            for entry, target in plan:
                staged.append((self._stage(entry, target, link, verify), target))
            for tmp, target in staged:
                os.replace(tmp, target)
        finally:
            for tmp, _ in staged:
                with contextlib.suppress(FileNotFoundError):
                    tmp.unlink()

    def _stage(self, entry: Entry, target: Path, link: str, verify: bool) -> Path:
        source = self.object_path(entry.object)
        if not source.is_file():
            raise DamagedEntry(f"object {short(entry.object)} is missing")
        if not _has_size(source, entry.size):
            raise DamagedEntry(f"object {short(entry.object)} has the wrong size", source)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = temp_path(target)
        copied = _materialise(source, tmp, link, verify)
        try:
            if os.stat(tmp).st_size != entry.size:
                raise DamagedEntry(f"object {short(entry.object)} copied short", source)
            if verify and (copied or digest_file(source)) != entry.object:
                raise DamagedEntry(f"object {short(entry.object)} is corrupt", source)
        except BaseException:
            tmp.unlink()
            raise
        return tmp

    # -- bookkeeping: previous keys (miss reasons) and events (stats)

    def last_path(self, task: str, results: str) -> Path:
        name = hex_part(digest_bytes(f"{task}\0{results}".encode()))
        return self.root / "last" / f"{name}.json"

    def read_last(self, task: str, results: str) -> dict[str, Any] | None:
        try:
            data = json.loads(self.last_path(task, results).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def write_last(
        self,
        task: str,
        results: str,
        document: Mapping[str, Any],
        *,
        key: str = "",
        source: str = "",
        code: Mapping[str, str] | None = None,
    ) -> None:
        """Remember a task's last key document (miss reasons, ``nbrules status``).

        Beside the document: its ``key``, the ``source`` object (the notebook text that
        ran, for a code diff) and the normalized digest of each ``code`` part (the
        notebook and each local module it imports, to tell which one changed).
        """
        extra = {"key": key, "source": source, "code_parts": dict(code or {})}
        atomic_write_text(self.last_path(task, results), canonical_json({**document, **extra}))

    def put_source(self, path: Path) -> str:
        """Store a source file as an object (content-addressed); its digest."""
        return self._put(path, path.name).object

    def events_dir(self, build: str) -> Path:
        return self.root / "events" / _safe(build)

    def record_event(self, build: str, event: Mapping[str, Any]) -> None:
        """Append one JSON line (a single ``O_APPEND`` write: lines never interleave)."""
        folder = self.events_dir(build)
        folder.mkdir(parents=True, exist_ok=True)
        line = (canonical_json({"time": time.time(), **event}) + "\n").encode()
        path = folder / f"{_safe(socket.gethostname())}.jsonl"
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
        try:
            os.write(fd, line)
        finally:
            os.close(fd)


# ---------------------------------------------------------------- file helpers


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", name)[:120] or "_"


def _has_size(path: Path, size: int) -> bool:
    try:
        return os.stat(path).st_size == size
    except OSError:
        return False


def _clone(src: BufferedReader, dst: IO[bytes]) -> bool:
    """Reflink ``src`` into ``dst`` (btrfs, XFS, …); ``False`` where unsupported."""
    try:
        import fcntl

        fcntl.ioctl(dst.fileno(), _FICLONE, src.fileno())
    except (ImportError, OSError):
        return False
    return True


def _copy(src: BufferedReader, dst: IO[bytes], *, want_digest: bool) -> str | None:
    """Copy (reflink if possible); the digest of what was written, when streamed."""
    if _clone(src, dst):
        return None
    if want_digest:
        return digest_stream(src, dst.write)
    shutil.copyfileobj(src, dst, CHUNK)
    return None


def _materialise(source: Path, tmp: Path, link: str, verify: bool) -> str | None:
    """Create ``tmp`` with the object's content; its digest if computed on the way."""
    if link == "symlink":
        os.symlink(source.resolve(), tmp)
        return None
    if link == "hardlink":
        with contextlib.suppress(OSError):
            os.link(source, tmp)
            return None
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # umask applies
    try:
        with os.fdopen(fd, "wb") as out, open(source, "rb") as src:
            digest = _copy(src, out, want_digest=verify)
            out.flush()
            os.fsync(out.fileno())
    except BaseException:
        tmp.unlink()
        raise
    return digest

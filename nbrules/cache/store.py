"""The store: content-addressed objects, one manifest per key, atomic publish and restore.

::

    <root>/objects/ab/<hex>             product bytes by content digest, 0o444
    <root>/manifests/<key hex>.json     product → object, size, relative path (a folder
                                        product: its tree); the executed notebook;
                                        mtime = last used (see :mod:`.manifest`)
    <root>/leases/<key hex>.json        who is executing that key now (:mod:`.lease`)
    <root>/last/<hex>.json              key document last seen per task + root
    <root>/events/<build>/<host>.jsonl  one line per job (hit, miss, error)
    <root>/normalized/ab/<hex>.json     code normalisation memo
    <root>/roots/<hex>.json             output folders this store restored into (for gc)
    <root>/tmp/                         temp files of in-flight publishes

The stat cache is *not* in the store: it lives on each host
(:func:`nbrules.cache.statcache.stat_cache_path`).

Publishing writes objects first (temp file in ``tmp/``, fsync, ``os.replace``),
the manifest last: a crash at any moment leaves at worst orphan objects or temp
files (``nbrules cache gc`` removes them), never a visible half-written entry.
Restoring stages each file (or folder) beside its target, verifying every byte
(:mod:`.transfer`), then renames it into place. Nothing is ever read through a
symbolic link below the root. Maintenance (``stats``, ``verify``, ``gc``) lives in
:mod:`nbrules.cache.admin`.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import secrets
import socket
import stat
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from ..common.errors import CacheError, DamagedEntry
from ..common.faults import fault_point
from ..common.files import atomic_write_text, atomic_writer, remove_path, temp_path
from ..common.text import canonical_json, safe_name
from .digests import digest_bytes, digest_stream, hex_part, short, tree_digest
from .manifest import Entry, Manifest, TreeFile
from .statcache import stat_cache_path
from .transfer import NoTrust, Trust, copy_hashed, first_link, materialise, open_inside
from .trees import walk

DEFAULT_ROOT = ".nbrules/cache"
ENV_CACHE = "NBRULES_CACHE"
ENV_BUILD = "NBRULES_BUILD_ID"
LINK_MODES = ("copy", "hardlink", "symlink")
FOLDERS = ("objects", "manifests", "leases", "last", "events", "roots", "tmp")
_LINK_ERRORS = (errno.ELOOP, errno.ENOTDIR, errno.EMLINK)


def store_root(configured: str | None, cwd: Path, environ: Mapping[str, str] | None = None) -> Path:
    """``$NBRULES_CACHE`` > config ``nbrules: {cache: …}`` > ``.nbrules/cache``."""
    env = os.environ if environ is None else environ
    value = env.get(ENV_CACHE) or configured or DEFAULT_ROOT
    return cwd / Path(str(value)).expanduser()


def new_build_id() -> str:
    return f"{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}-{secrets.token_hex(3)}"


# ---------------------------------------------------------------- the store


@dataclass(frozen=True, slots=True)
class Store:
    """A cache directory; every method is safe with concurrent jobs and builds."""

    root: Path

    @classmethod
    def open(cls, root: Path) -> Store:
        """The store at ``root``, created if need be; ``OSError`` if there is none.

        A read-only store (perhaps made by an older nbrules, without every folder)
        still opens: it serves hits, and what cannot be written is skipped.
        """
        root.mkdir(parents=True, exist_ok=True)
        for folder in FOLDERS:
            with contextlib.suppress(OSError):
                (root / folder).mkdir(exist_ok=True)
        return cls(root)

    @property
    def tmp(self) -> Path:
        return self.root / "tmp"

    def stat_cache_path(self) -> Path:
        return stat_cache_path(self.root)

    def object_path(self, digest: str) -> Path:
        name = hex_part(digest)
        return self.root / "objects" / name[:2] / name

    def manifest_path(self, key: str) -> Path:
        return self.root / "manifests" / f"{hex_part(key)}.json"

    # -- entries

    def lookup(self, key: str) -> Manifest | None:
        """The manifest of ``key``, or ``None`` if there is none.

        Raises :class:`DamagedEntry` for a manifest that is unreadable, garbled,
        a symbolic link or another key's: the caller drops it (:meth:`drop`).
        """
        relative = PurePosixPath("manifests", f"{hex_part(key)}.json")
        try:
            fd = open_inside(self.root, relative)
        except FileNotFoundError:
            return None
        except OSError as exc:
            if exc.errno not in _LINK_ERRORS:
                raise DamagedEntry(
                    f"manifest {short(key)} is unreadable ({exc.strerror})"
                ) from None
            raise DamagedEntry(f"manifest {short(key)} is a symbolic link: refused") from None
        with os.fdopen(fd, "rb") as handle:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise DamagedEntry(f"manifest {short(key)} is not a regular file")
            data = handle.read()
        try:
            manifest = Manifest.from_json(data.decode("utf-8"))
        except ValueError as exc:
            raise DamagedEntry(f"manifest {short(key)} is garbled ({exc})") from None
        if manifest.key != key:
            raise DamagedEntry(f"manifest {short(key)} holds key {short(manifest.key)}")
        return manifest

    def has(self, key: str) -> bool:
        """Whether an entry (perhaps damaged) exists for ``key``."""
        return os.path.lexists(self.manifest_path(key))

    def touch(self, key: str) -> None:
        """Mark an entry used now (``gc`` evicts least recently used first)."""
        with contextlib.suppress(OSError):
            os.utime(self.manifest_path(key), follow_symlinks=False)

    def drop(self, key: str, bad_object: Path | None = None) -> None:
        """Remove an entry, and the object (or planted link) to blame, never following links."""
        manifest = PurePosixPath("manifests", f"{hex_part(key)}.json")
        culprit = first_link(self.root, manifest)
        for path in (culprit, bad_object):
            if path is not None:
                with contextlib.suppress(OSError):
                    remove_path(path)

    # -- publish

    def publish(
        self,
        key: str,
        task: str,
        products: Mapping[str, tuple[Path, str]],
        notebook: tuple[Path, str] | None = None,
        seconds: float = 0.0,
    ) -> Manifest:
        """Store ``{name: (file or folder, relative path)}`` and the notebook under ``key``.

        Idempotent: publishing a key again (even concurrently) rewrites the same
        manifest and reuses the same objects.
        """
        entries = {name: self._put_product(path, rel) for name, (path, rel) in products.items()}
        nb = self._put(*notebook) if notebook is not None else None
        manifest = Manifest(key, task, entries, nb, seconds)
        fault_point("publish", task)
        self._write_manifest(manifest)
        return manifest

    def _write_manifest(self, manifest: Manifest) -> None:
        self._real_folder(self.root / "manifests")
        with atomic_writer(self.manifest_path(manifest.key), 0o444, tmp_dir=self.tmp) as out:
            out.write(manifest.to_json().encode())

    def _put_product(self, path: Path, rel: str) -> Entry:
        return self._put_tree(path, rel) if path.is_dir() else self._put(path, rel)

    def _put_tree(self, folder: Path, rel: str) -> Entry:
        found = walk(folder)
        if found.other:
            raise CacheError(
                f"{folder / found.other[0]} is a link or a special file; "
                "a folder product is cached only when it holds regular files and folders"
            )
        files = []
        for inner, path in found.files:
            entry = self._put(path, inner)
            files.append(TreeFile(inner, entry.object, entry.size))
        digest = tree_digest(((f.path, f.object) for f in files), found.dirs)
        return Entry(digest, sum(f.size for f in files), rel, tuple(files), found.dirs)

    def _put(self, source: Path, rel: str) -> Entry:
        with open(source, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            digest = digest_stream(handle)
        target = self.object_path(digest)
        self._real_folder(target.parent)
        if _is_object(target, size):
            with contextlib.suppress(OSError):
                os.utime(target)  # fresh mtime: gc spares young objects
            return Entry(digest, size, rel)
        with open(source, "rb") as src, atomic_writer(target, 0o444, tmp_dir=self.tmp) as out:
            copied = copy_hashed(src, out)
            if copied is not None and copied != digest:
                raise CacheError(f"{source} changed while it was being cached")
        return Entry(digest, size, rel)

    def _real_folder(self, folder: Path) -> None:
        """``folder`` as a real directory: a link planted in its place is removed first."""
        if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
            remove_path(folder)
        folder.mkdir(parents=True, exist_ok=True)

    # -- restore

    def restore(
        self,
        manifest: Manifest,
        products: Mapping[str, Path],
        notebook: Path | None = None,
        *,
        link: str = "copy",
        trust: Trust | None = None,
        verify: bool = False,
    ) -> None:
        """Materialise every product (and the notebook) of ``manifest``.

        Each file or folder is staged beside its target (every byte checked against
        its digest, see :mod:`.transfer`), then renamed into place, so no target is
        ever half-written. ``trust`` remembers objects this host already hashed (for
        links and reflinks); ``verify`` ignores it. Raises :class:`DamagedEntry` if
        an object is missing, a link, of the wrong size or corrupt.
        """
        if set(products) != set(manifest.products):
            raise DamagedEntry(f"entry {short(manifest.key)} holds other products")
        plan = [(manifest.products[name], path) for name, path in products.items()]
        if manifest.notebook is not None and notebook is not None:
            plan.append((manifest.notebook, notebook))
        staged: list[tuple[Path, Path]] = []
        try:
            for entry, target in plan:
                target.parent.mkdir(parents=True, exist_ok=True)
                staged.append((temp_path(target), target))
                self._stage(entry, staged[-1][0], link, trust or NoTrust(), verify)
            fault_point("restore", manifest.task)
            for tmp, target in staged:
                _swap(tmp, target)
        finally:
            for tmp, _ in staged:
                with contextlib.suppress(OSError):
                    remove_path(tmp)

    def _stage(self, entry: Entry, tmp: Path, link: str, trust: Trust, verify: bool) -> None:
        if entry.files is None:
            materialise(self.root, entry.object, entry.size, tmp, link, trust, verify)
            return
        tmp.mkdir()
        for folder in entry.dirs:
            (tmp / folder).mkdir(parents=True, exist_ok=True)
        for file in entry.files:
            target = tmp / file.path
            target.parent.mkdir(parents=True, exist_ok=True)
            materialise(self.root, file.object, file.size, target, link, trust, verify)

    # -- bookkeeping: previous keys (miss reasons), events (stats), output roots (gc)

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
        return self.root / "events" / safe_name(build)

    def record_event(self, build: str, event: Mapping[str, Any]) -> None:
        """Append one JSON line (a single ``O_APPEND`` write: lines never interleave)."""
        folder = self.events_dir(build)
        folder.mkdir(parents=True, exist_ok=True)
        line = (canonical_json({"time": time.time(), **event}) + "\n").encode()
        path = folder / f"{safe_name(socket.gethostname())}.jsonl"
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o666)
        try:
            os.write(fd, line)
        finally:
            os.close(fd)

    def remember_root(self, folder: Path) -> None:
        """Record an output folder this store restores into (``gc`` sweeps its temp files)."""
        host = socket.gethostname()
        text = canonical_json({"host": host, "path": str(folder.resolve())})
        path = self.root / "roots" / f"{hex_part(digest_bytes(text.encode()))[:16]}.json"
        if not path.exists():
            atomic_write_text(path, text)

    def roots(self) -> Iterator[Path]:
        """The output folders recorded on this host."""
        host = socket.gethostname()
        for path in sorted((self.root / "roots").glob("*.json")):
            with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
                data = json.loads(path.read_text(encoding="utf-8"))
                if data["host"] == host:
                    yield Path(str(data["path"]))


# ---------------------------------------------------------------- file helpers


def _is_object(path: Path, size: int) -> bool:
    """A regular file (not a link) of ``size`` bytes."""
    try:
        st = os.lstat(path)
    except OSError:
        return False
    return stat.S_ISREG(st.st_mode) and st.st_size == size


def _swap(tmp: Path, target: Path) -> None:
    """Move a staged file or folder onto ``target``, replacing what is there."""
    if tmp.is_dir() and not tmp.is_symlink():
        if os.path.lexists(target):
            aside = temp_path(target)
            os.rename(target, aside)
            os.rename(tmp, target)
            remove_path(aside)
        else:
            os.rename(tmp, target)
        return
    if target.is_dir() and not target.is_symlink():
        remove_path(target)
    os.replace(tmp, target)


__all__ = [
    "DEFAULT_ROOT",
    "ENV_BUILD",
    "ENV_CACHE",
    "LINK_MODES",
    "Entry",
    "Manifest",
    "Store",
    "TreeFile",
    "new_build_id",
    "store_root",
]

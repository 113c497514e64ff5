"""Moving bytes out of the store, verified, without following links.

Every object is opened with ``O_NOFOLLOW`` at each path component below the
store's root (``openat``-style, so a symlinked ``objects/ab`` folder is refused as
well as a symlinked object), then must be a regular file of the recorded size.

Then its bytes are checked against their digest, always:

- **copy** (the default): the bytes are hashed while they are copied; a mismatch
  removes the copy. Where the file system clones (reflink: btrfs, XFS, …) no bytes
  pass through nbrules, so the clone is read back and hashed instead;
- **hardlink / symlink / reflink**: the restored file *is* the object's bytes, so
  the object is hashed — unless this host already hashed exactly this object
  (same device, inode, size and modification time) and found it good: any write
  to the file changes its mtime. ``cache_verify: true`` re-hashes it anyway (the
  only thing a matching mtime cannot rule out is the disk itself rotting a bit,
  which ``nbrules cache verify`` also finds).

A bad object raises :class:`~nbrules.common.errors.DamagedEntry` naming the
object to drop; the caller drops the entry and runs the notebook.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from io import BufferedReader
from pathlib import Path, PurePosixPath
from typing import IO, Protocol

from ..common.errors import DamagedEntry
from .digests import digest_file, digest_stream, hex_part, short

_FICLONE = 0x40049409
_LINK_ERRORS = (errno.ELOOP, errno.ENOTDIR, errno.EMLINK)


class Trust(Protocol):
    """Objects this host hashed before (see :class:`~nbrules.cache.statcache.StatCache`)."""

    def verified(self, st: os.stat_result) -> str | None: ...

    def mark_verified(self, st: os.stat_result, digest: str) -> None: ...


class NoTrust:
    """Trust nothing: every object is hashed on every restore."""

    def verified(self, st: os.stat_result) -> str | None:
        return None

    def mark_verified(self, st: os.stat_result, digest: str) -> None:
        return None


def object_relative(digest: str) -> PurePosixPath:
    name = hex_part(digest)
    return PurePosixPath("objects", name[:2], name)


def open_inside(root: Path, relative: PurePosixPath, flags: int = os.O_RDONLY) -> int:
    """Open ``root/relative`` following no symlink below ``root`` (``OSError`` if one is)."""
    parts = relative.parts
    folder = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for part in parts[:-1]:
            inner = os.open(
                part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=folder
            )
            os.close(folder)
            folder = inner
        # O_NONBLOCK: a FIFO planted in the store must not hang the job.
        return os.open(
            parts[-1], flags | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=folder
        )
    finally:
        os.close(folder)


def first_link(root: Path, relative: PurePosixPath) -> Path:
    """The first component of ``relative`` below ``root`` that is a symlink (or the path)."""
    path = root
    for part in relative.parts:
        path = path / part
        if path.is_symlink():
            return path
    return path


def open_object(root: Path, digest: str, size: int) -> tuple[int, os.stat_result]:
    """A read-only fd of an object known to be a regular file of ``size`` bytes."""
    relative = object_relative(digest)
    try:
        fd = open_inside(root, relative)
    except FileNotFoundError:
        raise DamagedEntry(f"object {short(digest)} is missing") from None
    except OSError as exc:
        if exc.errno not in _LINK_ERRORS:
            raise
        link = first_link(root, relative)
        raise DamagedEntry(f"object {short(digest)} is a symbolic link: refused", link) from None
    st = os.fstat(fd)
    problem = ""
    if not stat.S_ISREG(st.st_mode):
        problem = "is not a regular file"
    elif st.st_size != size:
        problem = "has the wrong size"
    if problem:
        os.close(fd)
        raise DamagedEntry(f"object {short(digest)} {problem}", root / relative)
    os.set_blocking(fd, True)
    return fd, st


def materialise(
    root: Path, digest: str, size: int, target: Path, link: str, trust: Trust, paranoid: bool
) -> None:
    """Create ``target`` (a fresh temp path) with the object's bytes, verified."""
    fd, st = open_object(root, digest, size)
    try:
        if link in ("hardlink", "symlink") and _link(root, digest, st, target, link):
            _check(digest, _hash_fd(fd, st, digest, trust, paranoid), root)
        else:
            _copy_verified(fd, st, digest, target, trust, paranoid, root)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(target)
        raise
    finally:
        os.close(fd)


def _link(root: Path, digest: str, st: os.stat_result, target: Path, link: str) -> bool:
    """Link ``target`` to the object; ``False`` where a hard link is impossible (copy)."""
    source = root.resolve() / object_relative(digest)
    if link == "symlink":
        os.symlink(source, target)
        return True
    try:
        os.link(source, target, follow_symlinks=False)
    except OSError:
        return False  # another file system, no permission, too many links: copy
    linked = os.lstat(target)
    if (linked.st_dev, linked.st_ino) != (st.st_dev, st.st_ino):
        raise DamagedEntry(f"object {short(digest)} was replaced while it was restored")
    return True


def _same(a: os.stat_result, b: os.stat_result) -> bool:
    return (a.st_dev, a.st_ino, a.st_size, a.st_mtime_ns) == (
        b.st_dev,
        b.st_ino,
        b.st_size,
        b.st_mtime_ns,
    )


def _hash_fd(fd: int, st: os.stat_result, digest: str, trust: Trust, paranoid: bool) -> str:
    """The object's digest: remembered for this exact file, or read now."""
    if not paranoid and trust.verified(st) == digest:
        return digest
    with os.fdopen(os.dup(fd), "rb") as handle:
        actual = digest_stream(handle)
    if actual == digest and _same(os.fstat(fd), st):
        trust.mark_verified(st, digest)
    return actual


def _copy_verified(
    fd: int,
    st: os.stat_result,
    digest: str,
    target: Path,
    trust: Trust,
    paranoid: bool,
    root: Path,
) -> None:
    out_fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)
    with os.fdopen(out_fd, "wb") as out, os.fdopen(os.dup(fd), "rb") as src:
        if _clone(fd, out_fd):
            actual = _hash_clone(fd, st, digest, target, trust, paranoid)
        else:
            actual = digest_stream(src, out.write)
            if actual == digest and _same(os.fstat(fd), st):
                trust.mark_verified(st, digest)
        _check(digest, actual, root)
        out.flush()
        os.fsync(out.fileno())


def _hash_clone(
    fd: int, st: os.stat_result, digest: str, clone: Path, trust: Trust, paranoid: bool
) -> str:
    if not paranoid and _same(os.fstat(fd), st) and trust.verified(st) == digest:
        return digest
    actual = digest_file(clone)
    if actual == digest and _same(os.fstat(fd), st):
        trust.mark_verified(st, digest)
    return actual


def _check(digest: str, actual: str, root: Path) -> None:
    if actual != digest:
        raise DamagedEntry(
            f"object {short(digest)} is corrupt (its bytes hash to {short(actual)})",
            root / object_relative(digest),
        )


def _clone(src: int, dst: int) -> bool:
    """Reflink ``src`` into ``dst`` (btrfs, XFS, …); ``False`` where unsupported."""
    try:
        import fcntl

        fcntl.ioctl(dst, _FICLONE, src)
    except (ImportError, OSError):
        return False
    return True


def copy_hashed(src: BufferedReader, dst: IO[bytes]) -> str | None:
    """Copy ``src`` into ``dst`` (reflink if possible); the digest when it was streamed."""
    if _clone(src.fileno(), dst.fileno()):
        return None
    return digest_stream(src, dst.write)

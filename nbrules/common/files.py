"""Atomic file writes and path helpers.

Every write in nbrules goes through :func:`atomic_writer`: a temp file in the
target's folder (or a given folder on the same file system), ``fsync``, then
``os.replace``. A reader — or a crash at any moment — sees either the old file or
the whole new one, never a partial write. Temp files are hidden and end in
:data:`TMP_SUFFIX`, so whatever a ``kill -9`` leaves behind can be recognised and
swept.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import IO

TMP_SUFFIX = ".nbrules-tmp"


def temp_path(target: Path, folder: Path | None = None) -> Path:
    """A fresh hidden name for a temp file that will become ``target``."""
    return (folder or target.parent) / f".{target.name}.{secrets.token_hex(4)}{TMP_SUFFIX}"


def is_temp(name: str) -> bool:
    """Whether a file or folder name is one of :func:`temp_path`'s."""
    return name.startswith(".") and name.endswith(TMP_SUFFIX)


def remove_path(path: Path) -> None:
    """Remove a file, a symlink or a whole folder; a missing one is fine."""
    try:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()
    except FileNotFoundError:
        pass


def remove_temps_of(target: Path) -> list[Path]:
    """Remove the temp files (and staged folders) a crash left for ``target``.

    A ``kill -9`` between staging and renaming leaves ``.<name>.<hex>.nbrules-tmp``
    beside the target; the next writer of that target owns them.
    """
    try:
        found = list(target.parent.glob(f".{_glob_escape(target.name)}.*{TMP_SUFFIX}"))
    except OSError:
        return []
    for path in found:
        with contextlib.suppress(OSError):
            remove_path(path)
    return found


def _glob_escape(name: str) -> str:
    return "".join(f"[{c}]" if c in "*?[" else c for c in name)


@contextlib.contextmanager
def atomic_writer(
    path: Path, mode: int = 0o644, *, tmp_dir: Path | None = None, durable: bool = True
) -> Iterator[IO[bytes]]:
    """Yield a binary handle whose content replaces ``path`` only on success.

    ``tmp_dir`` must be on the same file system as ``path`` (``os.replace`` is a
    rename); by default the temp file sits beside ``path``. ``durable=False`` skips
    the ``fsync`` for derived data that a reader validates and can recompute (memos,
    job spec files): still all-or-nothing for readers, but a power loss may leave it
    empty.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    if tmp_dir is not None:
        tmp_dir.mkdir(parents=True, exist_ok=True)
    tmp = temp_path(path, tmp_dir)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            if durable:
                os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def atomic_write_bytes(path: Path, data: bytes, mode: int = 0o644, *, durable: bool = True) -> None:
    with atomic_writer(path, mode, durable=durable) as handle:
        handle.write(data)


def atomic_write_text(path: Path, text: str, mode: int = 0o644, *, durable: bool = True) -> None:
    atomic_write_bytes(path, text.encode("utf-8"), mode, durable=durable)


def normal(path: Path) -> Path:
    """An absolute path without ``..``; symlinks are kept (a linked folder stays inside)."""
    return Path(os.path.normpath(path.absolute()))


def relative_if_inside(path: Path, root: Path) -> Path:
    """``path`` relative to ``root`` when it lies inside it, else ``path`` made absolute.

    Tried without resolving symlinks first (a linked output folder stays inside the
    project), then with (``/tmp`` vs ``/private/tmp``).
    """
    for a, b in ((normal(path), normal(root)), (path.resolve(), root.resolve())):
        with contextlib.suppress(ValueError):
            return a.relative_to(b)
    return normal(path)

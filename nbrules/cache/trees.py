"""Folder products: walking a folder without following links, and its tree digest.

A folder product is cached as a *tree*: every regular file under it, by relative
path, plus its subfolders (empty ones too). Its digest
(:func:`~nbrules.cache.digests.tree_digest`) is what a downstream key sees, so
renaming, adding, removing or editing any file inside changes downstream keys.

Snakemake writes ``.snakemake_timestamp`` into a ``directory()`` output after the
job; that file is Snakemake's, never part of the tree.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from .digests import digest_text, tree_digest

#: Snakemake's marker inside ``directory()`` outputs (its mtime carrier).
SNAKEMAKE_STAMP = ".snakemake_timestamp"


@dataclass(frozen=True, slots=True)
class Walk:
    """A folder's regular files and subfolders; ``other``: links, sockets, FIFOs."""

    files: tuple[tuple[str, Path], ...]
    dirs: tuple[str, ...]
    other: tuple[str, ...]


def _raise(error: OSError) -> None:
    raise error


def walk(folder: Path) -> Walk:
    """Every entry under ``folder`` (relative POSIX paths, sorted); links are not followed."""
    files: list[tuple[str, Path]] = []
    dirs: list[str] = []
    other: list[str] = []
    for top, subdirs, names in os.walk(folder, followlinks=False, onerror=_raise):
        here = PurePosixPath(Path(top).relative_to(folder).as_posix())
        for name in subdirs:
            rel = str(here / name)
            (other if os.path.islink(os.path.join(top, name)) else dirs).append(rel)
        for name in names:
            if top == str(folder) and name == SNAKEMAKE_STAMP:
                continue
            path = Path(top, name)
            rel = str(here / name)
            if stat.S_ISREG(os.lstat(path).st_mode):
                files.append((rel, path))
            else:
                other.append(rel)
    return Walk(tuple(sorted(files)), tuple(sorted(dirs)), tuple(sorted(other)))


def folder_digest(folder: Path, file_digest: Callable[[Path], str]) -> str:
    """The tree digest of a folder on disk (links count by their target's text)."""
    found = walk(folder)
    files = [(rel, file_digest(path)) for rel, path in found.files]
    files += [
        (rel, digest_text(f"link:{os.readlink(folder / rel)}"))
        for rel in found.other
        if os.path.islink(folder / rel)
    ]
    return tree_digest(files, found.dirs)


def path_digest(path: Path, file_digest: Callable[[Path], str]) -> str:
    """A product's digest: its content, or its tree digest if it is a folder."""
    if path.is_dir():
        return folder_digest(path, file_digest)
    return file_digest(path)

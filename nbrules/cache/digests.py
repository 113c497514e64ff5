"""Content digests: xxh3-128, tagged ``xxh3-128:<hex>`` wherever stored.

A digest is tagged with its algorithm so that a store or a key never mixes two
algorithms silently (:func:`hex_part` refuses any other tag).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Protocol

import xxhash

from ..common.text import canonical_json

ALGORITHM = "xxh3-128"
CHUNK = 1 << 20


def digest_bytes(data: bytes) -> str:
    return f"{ALGORITHM}:{xxhash.xxh3_128_hexdigest(data)}"


def digest_text(text: str) -> str:
    return digest_bytes(text.encode("utf-8"))


class Readable(Protocol):
    def readinto(self, buffer: bytearray, /) -> int | None: ...


def digest_file(path: Path) -> str:
    """Stream a file through xxh3-128 (constant memory)."""
    with open(path, "rb", buffering=0) as handle:
        with contextlib.suppress(AttributeError, OSError):
            os.posix_fadvise(handle.fileno(), 0, 0, os.POSIX_FADV_SEQUENTIAL)
        return digest_stream(handle)


def digest_stream(handle: Readable, sink: Callable[[memoryview], object] | None = None) -> str:
    """Digest of the rest of ``handle``; each chunk also goes to ``sink`` (copy + hash)."""
    hasher = xxhash.xxh3_128()
    buffer = bytearray(CHUNK)  # one reused 1 MiB buffer
    view = memoryview(buffer)
    while count := handle.readinto(buffer):
        hasher.update(view[:count])
        if sink is not None:
            sink(view[:count])
    return f"{ALGORITHM}:{hasher.hexdigest()}"


def tree_digest(files: Iterable[tuple[str, str]], dirs: Iterable[str] = ()) -> str:
    """The digest of a folder: its files' relative paths and digests, and its subfolders.

    Paths are POSIX and relative to the folder; order does not matter. Two folders
    get the same digest exactly when they hold the same files with the same bytes
    under the same names, and the same (possibly empty) subfolders.
    """
    listing = {"dirs": sorted(dirs), "files": sorted([path, d] for path, d in files)}
    return digest_bytes(b"nbrules-tree-v1\0" + canonical_json(listing).encode("ascii"))


def short(digest: str) -> str:
    return digest.split(":", 1)[-1][:12]


def hex_part(digest: str) -> str:
    """``xxh3-128:<hex>`` → ``<hex>``; refuses digests of another algorithm."""
    algorithm, _, hexdigest = digest.partition(":")
    if algorithm != ALGORITHM or len(hexdigest) != 32:
        raise ValueError(f"not a {ALGORITHM} digest: {digest!r}")
    return hexdigest

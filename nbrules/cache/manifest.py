"""Cache entries as JSON: ``<store>/manifests/<key hex>.json``.

A manifest lists every product of one key (and the executed notebook) with the
object holding its bytes::

    {"format": "nbrules-cache-v1", "key": "xxh3-128:…", "task": "clean",
     "products": {"data": {"object": "xxh3-128:…", "size": 1234, "path": "clean.parquet"},
                  "model": {"object": "xxh3-128:<tree digest>", "size": 99, "path": "model/",
                            "files": [{"path": "weights.bin", "object": "…", "size": 99}],
                            "dirs": []}},
     "notebook": {…} or null, "seconds": 3.2, "created": 1700000000.0}

A folder product (``"files"`` present) is a tree: each file by its path relative to
the folder, plus the folder's subfolders; its ``object`` is the tree digest.
Reading is strict: a manifest that does not parse, names a digest of another
algorithm, a tree path that could leave its folder (``..``, absolute), or a tree
digest that does not match its listing raises ``ValueError`` — the store reports
it as a damaged entry.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from .digests import hex_part, tree_digest
from .key import FORMAT


def safe_relative(path: str) -> str:
    """``path`` if it is a plain relative POSIX path that stays below its folder."""
    pure = PurePosixPath(path)
    if (
        not path
        or "\0" in path
        or "\\" in path
        or pure.is_absolute()
        or any(part in ("..", ".") for part in path.split("/"))
        or str(pure) != path
    ):
        raise ValueError(f"unsafe relative path {path!r}")
    return path


@dataclass(frozen=True, slots=True)
class TreeFile:
    """One file of a folder product: its path inside the folder, object and size."""

    path: str
    object: str
    size: int

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "object": self.object, "size": self.size}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TreeFile:
        hex_part(str(data["object"]))
        return cls(safe_relative(str(data["path"])), str(data["object"]), _size(data["size"]))


@dataclass(frozen=True, slots=True)
class Entry:
    """One cached product: a file (its object) or a folder (a tree of objects).

    ``path`` is relative to the output root. For a folder, ``object`` is the tree
    digest, ``size`` the total of its files, ``files`` and ``dirs`` its content.
    """

    object: str
    size: int
    path: str
    files: tuple[TreeFile, ...] | None = None
    dirs: tuple[str, ...] = ()

    @property
    def is_folder(self) -> bool:
        return self.files is not None

    def objects(self) -> Iterator[tuple[str, int]]:
        """``(digest, size)`` of every object this entry needs."""
        if self.files is None:
            yield self.object, self.size
        else:
            yield from ((f.object, f.size) for f in self.files)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"object": self.object, "size": self.size, "path": self.path}
        if self.files is not None:
            data["files"] = [f.to_dict() for f in self.files]
            data["dirs"] = list(self.dirs)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Entry:
        digest = str(data["object"])
        hex_part(digest)
        if "files" not in data:
            return cls(digest, _size(data["size"]), str(data["path"]))
        files = tuple(TreeFile.from_dict(f) for f in data["files"])
        dirs = tuple(safe_relative(str(d)) for d in data.get("dirs", []))
        if tree_digest(((f.path, f.object) for f in files), dirs) != digest:
            raise ValueError(f"tree listing of {data['path']!r} does not match its digest")
        return cls(digest, _size(data["size"]), str(data["path"]), files, dirs)


def _size(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"bad size {value!r}")
    return value


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

    def objects(self) -> Iterator[tuple[str, int]]:
        """``(digest, size)`` of every object of every entry (tree files included)."""
        for entry in self.entries():
            yield from entry.objects()

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
        """Parse a manifest; ``ValueError`` (with the reason) if anything is off."""
        try:
            data = json.loads(text)
            if not isinstance(data, dict):
                raise ValueError("not a JSON object")
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
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"missing or malformed field: {exc}") from None

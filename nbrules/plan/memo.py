"""The discovery memo: what a Snakefile parse needs of each notebook, by file stat.

Discovering a pipeline reads every notebook's parameters cell and the names its
code subscripts ``upstream`` with. Both depend on the file's text only, so they are
remembered in one small JSON file per project (``.nbrules/memo/notebooks.json``)
under the file's ``stat`` signature: a parse of an unchanged 1,000-notebook
pipeline stats the files and reads that one file — no notebook is opened. An entry
is used only when size, mtime, ctime and inode all match, and a file changed within
the last 50 ms is not remembered (a write in the same timestamp tick could go
unseen). Deleting the file only costs one slower parse; a damaged one is ignored.
"""

from __future__ import annotations

import ast
import contextlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..common.errors import DeclarationError
from ..common.files import atomic_write_text
from ..common.notebooks import PARAMETERS_TAG, code_cells, parameters_source, python_source

MEMO_FILE = ".nbrules/memo/notebooks.json"
FORMAT = 1
RACY_NS = 50_000_000


@dataclass(frozen=True, slots=True)
class Scan:
    """One source file, as discovery sees it."""

    #: The parameters cell's source and file line, or ``None`` (not a notebook task).
    cell: tuple[str, int] | None
    #: Names ``n`` the code subscripts as ``upstream[n]["nb"]``.
    reads_nb: tuple[str, ...] = ()
    #: Names ``n`` the code subscripts as ``upstream[n]`` at all.
    subscripts: tuple[str, ...] = ()

    def to_json(self) -> list[Any]:
        return [list(self.cell) if self.cell else None, list(self.reads_nb), list(self.subscripts)]

    @classmethod
    def from_json(cls, data: list[Any]) -> Scan:
        cell = (str(data[0][0]), int(data[0][1])) if data[0] else None
        return cls(cell, tuple(map(str, data[1])), tuple(map(str, data[2])))


def scan_file(path: Path) -> Scan:
    """Read a source file; a file without a ``parameters`` tag is not even decoded."""
    data = path.read_bytes()
    if PARAMETERS_TAG.encode() not in data:
        return Scan(None)  # e.g. a helper module, whatever its encoding
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DeclarationError(
            f"not UTF-8 text (byte {exc.start})", path=path, hint="save notebooks as UTF-8"
        ) from None
    return scan(path, text)


def scan(path: Path, text: str) -> Scan:
    """Read a notebook source's parameters cell and upstream references."""
    cell = parameters_source(path, text)
    if cell is None:
        return Scan(None)
    reads_nb, subscripts = upstream_references(path, text)
    return Scan(cell, reads_nb, subscripts)


def upstream_references(path: Path, text: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(``upstream[n]["nb"]`` names, ``upstream[n]`` names) of the code.

    A jupytext script is plain Python (cells are comments, magics are commented
    out), so one ``ast.parse`` of the whole text sees every cell; other sources go
    cell by cell.
    """
    try:
        if path.suffix != ".py":
            raise SyntaxError("not a script")  # e.g. an .ipynb: JSON parses as Python
        trees = [ast.parse(text)]
    except SyntaxError:
        trees = []
        for source, _ in code_cells(path):
            with contextlib.suppress(SyntaxError):
                trees.append(ast.parse(python_source(source)))
    reads_nb: set[str] = set()
    subscripts: set[str] = set()
    for tree in trees:
        for node in ast.walk(tree):
            name = _subscripted(node)
            if name is not None:
                subscripts.add(name)
            elif isinstance(node, ast.Subscript) and _constant(node.slice) == "nb":
                inner = _subscripted(node.value)
                if inner is not None:
                    reads_nb.add(inner)
    return tuple(sorted(reads_nb)), tuple(sorted(subscripts))


def _subscripted(node: ast.AST) -> str | None:
    """``n`` of ``upstream["n"]``."""
    if (
        isinstance(node, ast.Subscript)
        and isinstance(node.value, ast.Name)
        and node.value.id == "upstream"
    ):
        name = _constant(node.slice)
        return name if isinstance(name, str) else None
    return None


def _constant(node: ast.AST) -> Any:
    return node.value if isinstance(node, ast.Constant) else None


class DiscoveryMemo:
    """:class:`Scan` results by path and ``stat`` signature, in one JSON file."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.entries: dict[str, Any] = self._load(path)
        self.dirty = False

    @staticmethod
    def _load(path: Path | None) -> dict[str, Any]:
        if path is None:
            return {}
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        ok = isinstance(data, dict) and data.get("format") == FORMAT
        entries = data.get("entries") if ok else None
        return entries if isinstance(entries, dict) else {}

    def scan(self, source: Path) -> Scan:
        """The scan of ``source``: remembered, or read (and remembered)."""
        st = os.stat(source)
        signature = [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]
        entry = self.entries.get(str(source))
        if isinstance(entry, list) and len(entry) == 2 and entry[0] == signature:
            with contextlib.suppress(ValueError, TypeError, IndexError):
                return Scan.from_json(entry[1])
        found = scan_file(source)
        if time.time_ns() - max(st.st_mtime_ns, st.st_ctime_ns) > RACY_NS:
            self.entries[str(source)] = [signature, found.to_json()]
            self.dirty = True
        return found

    def save(self) -> None:
        """Write the memo if it changed (a failure only costs a slower next parse)."""
        if self.path is None or not self.dirty:
            return
        with contextlib.suppress(OSError):
            text = json.dumps({"format": FORMAT, "entries": self.entries}, separators=(",", ":"))
            atomic_write_text(self.path, text, durable=False)
        self.dirty = False

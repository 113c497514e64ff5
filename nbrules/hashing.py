"""Code normalisation and content digests (xxh3-128, tagged ``xxh3-128:<hex>``).

The *normalized code* of a notebook is the ``ast.dump`` of its code cells, joined
in order, with comments, blank lines, formatting, docstrings, markdown cells,
cells that run nothing and any stale ``injected-parameters`` cell dropped:
reformatting with black or editing prose gives the same digest; any change to
what runs gives another (cell boundaries count: they decide what is displayed).
Magic arguments are strings, so ``%time x = 1  # c`` differs from ``%time x = 1``.

A notebook's *code digest* adds the normalized code of every project-local module
it imports (transitively, resolved against the kernel's import path) and the
Python minor version, so editing a helper module invalidates exactly the notebooks
that import it.

Two caches keep this cheap, both safe to delete at any time:

- a :class:`CodeMemo` maps a source file's *raw* digest to its normalized digest
  and imports, so an unchanged notebook is never parsed again (by jupytext or
  ``ast``) — :class:`DirectoryMemo` keeps it on disk across jobs;
- a :class:`StatCache` maps ``(st_dev, st_ino, st_size, st_mtime_ns, st_ctime_ns)``
  to a file's digest, so an unchanged input is never read again. Any write to a
  file changes its mtime and ctime (a ``touch`` too), so a stale entry is never
  used; the worst a lost or stale database costs is one re-read.
"""

from __future__ import annotations

import ast
import contextlib
import functools
import json
import os
import sqlite3
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import xxhash

from .declarations import code_cells, parse_python
from .fsutil import atomic_write_text

ALGORITHM = "xxh3-128"
FORMAT_VERSION = 2
_CHUNK = 1 << 20


# ---------------------------------------------------------------- content digests


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
    buffer = bytearray(_CHUNK)  # one reused 1 MiB buffer
    view = memoryview(buffer)
    while count := handle.readinto(buffer):
        hasher.update(view[:count])
        if sink is not None:
            sink(view[:count])
    return f"{ALGORITHM}:{hasher.hexdigest()}"


def short(digest: str) -> str:
    return digest.split(":", 1)[-1][:12]


def hex_part(digest: str) -> str:
    """``xxh3-128:<hex>`` → ``<hex>``; refuses digests of another algorithm."""
    algorithm, _, hexdigest = digest.partition(":")
    if algorithm != ALGORITHM or len(hexdigest) != 32:
        raise ValueError(f"not a {ALGORITHM} digest: {digest!r}")
    return hexdigest


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
            "AND mtime_ns=? AND ctime_ns=?", stat_signature(st))
        return str(rows[0][0]) if rows else None

    def record(self, st: os.stat_result, digest: str) -> None:
        """Remember ``digest`` for the file that ``st`` describes."""
        self._query("INSERT OR REPLACE INTO digests VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (*stat_signature(st), digest, time.time()))

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


# ---------------------------------------------------------------- code normalisation


def python_source(cell_source: str) -> str:
    """IPython cell source → plain Python (magics become calls, as in the kernel)."""
    if not any(line.lstrip().startswith(("%", "!")) for line in cell_source.splitlines()):
        return cell_source
    from IPython.core.inputtransformer2 import TransformerManager

    return str(TransformerManager().transform_cell(cell_source))  # type: ignore[no-untyped-call]


def strip_docstrings(tree: ast.AST) -> ast.AST:
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Module)):
            body = node.body
            if body and _is_docstring(body[0]):
                node.body = body[1:] or [ast.Pass()]
    return tree


def _is_docstring(node: ast.stmt) -> bool:
    return (
        isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
    )


def normalize_python(source: str, path: Path | None = None, first_line: int = 1) -> str:
    """Canonical text of Python source: an AST dump without positions or docstrings."""
    return ast.dump(strip_docstrings(parse_python(source, path, first_line)), annotate_fields=False)




@dataclass(frozen=True, slots=True)
class SourceSummary:
    """What the code digest needs of one source file: its normalized digest, imports."""

    normalized: str
    imports: tuple[str, ...]

    def to_json(self) -> str:
        return json.dumps({"normalized": self.normalized, "imports": list(self.imports)})

    @classmethod
    def from_json(cls, text: str) -> SourceSummary:
        data = json.loads(text)
        return cls(str(data["normalized"]), tuple(str(n) for n in data["imports"]))


class CodeMemo(Protocol):
    """Normalisation results by a key derived from the file's raw digest."""

    def get(self, key: str) -> SourceSummary | None: ...

    def put(self, key: str, summary: SourceSummary) -> None: ...


@dataclass(frozen=True, slots=True)
class DirectoryMemo:
    """A :class:`CodeMemo` of small JSON files ``<root>/<ab>/<hex>.json``.

    Files are written atomically and never change once written (the name is a
    digest of the raw source), so concurrent jobs and a shared filesystem are fine.
    """

    root: Path

    def _path(self, key: str) -> Path:
        name = hex_part(key)
        return self.root / name[:2] / f"{name}.json"

    def get(self, key: str) -> SourceSummary | None:
        try:
            return SourceSummary.from_json(self._path(key).read_text(encoding="utf-8"))
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def put(self, key: str, summary: SourceSummary) -> None:
        with contextlib.suppress(OSError):
            atomic_write_text(self._path(key), summary.to_json())


def _memoized(
    kind: str, path: Path, context: str, memo: CodeMemo | None,
    compute: Callable[[Path, str], SourceSummary],
) -> SourceSummary:
    raw = digest_bytes(path.read_bytes())
    if memo is None:
        return compute(path, raw)
    key = digest_text(f"nbrules-normalized-v{FORMAT_VERSION}\0{kind}\0{context}\0{raw}")
    found = memo.get(key)
    if found is None:
        found = compute(path, raw)
        memo.put(key, found)
    return found


@functools.lru_cache(maxsize=4096)
def _summarize_notebook(path: Path, raw_digest: str) -> SourceSummary:
    parts: list[str] = []
    imports: list[str] = []
    for source, line in code_cells(path):
        tree = parse_python(python_source(source), path, line)
        if all(_is_docstring(node) for node in tree.body):
            continue  # a cell of comments (or prose in a string) runs nothing
        imports.extend(imported_modules(tree))
        parts.append(ast.dump(strip_docstrings(tree), annotate_fields=False))
    return SourceSummary(digest_text("\n".join(parts)), tuple(imports))


def notebook_summary(path: Path, memo: CodeMemo | None = None) -> SourceSummary:
    """Normalized digest and imports of a notebook, memoized by its raw content."""
    return _memoized("notebook", path, "", memo, _summarize_notebook)


@functools.lru_cache(maxsize=4096)
def _summarize_module(path: Path, raw_digest: str, package: str) -> SourceSummary:
    tree = parse_python(path.read_text(encoding="utf-8"), path, 1)
    imports = tuple(imported_modules(tree, package))
    return SourceSummary(digest_text(ast.dump(strip_docstrings(tree), annotate_fields=False)),
                         imports)


def module_summary(path: Path, package: str, memo: CodeMemo | None = None) -> SourceSummary:
    """Normalized digest and (absolute) imports of a module inside ``package``."""
    return _memoized("module", path, package, memo,
                     lambda p, raw: _summarize_module(p, raw, package))


def imported_modules(tree: ast.AST, package: str = "") -> Iterator[str]:
    """Absolute dotted names imported by a module (relative imports resolved)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(node.module or "", node.level, package)
            if base:
                yield base
                yield from (f"{base}.{alias.name}" for alias in node.names)


def _absolute(module: str, level: int, package: str) -> str:
    if level == 0:
        return module
    parts = package.split(".") if package else []
    parts = parts[: len(parts) - (level - 1)] if level > 1 else parts
    return ".".join([*parts, module] if module else parts)


def local_modules(
    names: Iterable[str], search: Sequence[Path], memo: CodeMemo | None = None
) -> dict[Path, SourceSummary]:
    """Project-local files of the given modules and of what they import, transitively."""
    found: dict[Path, SourceSummary] = {}
    pending = list(names)
    done: set[str] = set()
    while pending:
        name = pending.pop()
        if name in done:
            continue
        done.add(name)
        for file, package in _module_files(name, search):
            if file not in found:
                found[file] = module_summary(file, package, memo)
                pending.extend(found[file].imports)
    return dict(sorted(found.items()))


def local_module_files(names: Iterable[str], search: Sequence[Path]) -> list[Path]:
    """Project-local files of the given modules and of what they import, transitively."""
    return list(local_modules(names, search))


def _module_files(name: str, search: Sequence[Path]) -> Iterator[tuple[Path, str]]:
    """The file of a module and the ``__init__.py`` of each enclosing package."""
    parts = name.split(".")
    for root in search:
        if not (root / parts[0]).is_dir() and not (root / f"{parts[0]}.py").is_file():
            continue
        for depth in range(1, len(parts) + 1):
            base = root.joinpath(*parts[:depth])
            package = ".".join(parts[:depth])
            if (base / "__init__.py").is_file():
                yield base / "__init__.py", package
            elif base.with_suffix(".py").is_file():
                yield base.with_suffix(".py"), ".".join(parts[: depth - 1])
                return
            else:
                return
        return


@dataclass(frozen=True, slots=True)
class CodeSummary:
    """A notebook's code digest, plus what it imports (for the optional package key)."""

    digest: str
    imports: frozenset[str]
    local: tuple[str, ...]


def code_summary(path: Path, search: Sequence[Path], memo: CodeMemo | None = None) -> CodeSummary:
    """Code digest of a notebook: its code, the local modules it imports, Python minor."""
    notebook = notebook_summary(path, memo)
    modules = local_modules(notebook.imports, search, memo)
    hasher = xxhash.xxh3_128()
    hasher.update(f"nbrules-code-v{FORMAT_VERSION}\0python{sys.version_info[:2]}\0".encode())
    hasher.update(notebook.normalized.encode())
    keys = []
    for module, summary in modules.items():
        keys.append(module_key(module, search))
        hasher.update(f"\0module\0{keys[-1]}\0{summary.normalized}".encode())
    imports = {*notebook.imports, *(n for s in modules.values() for n in s.imports)}
    return CodeSummary(f"{ALGORITHM}:{hasher.hexdigest()}", frozenset(imports), tuple(keys))


def code_digest(path: Path, search: Sequence[Path], memo: CodeMemo | None = None) -> str:
    """Digest of what a notebook runs: its code, local modules it imports, Python minor."""
    return code_summary(path, search, memo).digest


def module_key(module: Path, search: Sequence[Path]) -> str:
    for root in search:
        try:
            return module.relative_to(root).as_posix()
        except ValueError:
            continue
    return module.name

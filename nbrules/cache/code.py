"""The code digest: what a notebook runs, without comments, formatting or prose.

The *normalized code* of a notebook is the ``ast.dump`` of its code cells, joined
in order, with comments, blank lines, formatting, docstrings, markdown cells,
cells that run nothing and any stale ``injected-parameters`` cell dropped:
reformatting with black or editing prose gives the same digest; any change to
what runs gives another (cell boundaries count: they decide what is displayed).
Magic lines are kept as their text, so ``%time x = 1  # c`` differs from
``%time x = 1``.

A notebook's *code digest* adds the normalized code of every project-local module
it imports (transitively, resolved against the kernel's import path) and the
Python minor version of the interpreter that runs it, so editing a helper module
invalidates exactly the notebooks that import it.

A Python-function task's code is its whole module, normalized the same way (plus the
function's dotted path); a shell script's is its exact text.

A :class:`CodeMemo` maps a source file's *raw* digest to its normalized digest and
imports, so an unchanged notebook is never parsed again (by jupytext or ``ast``);
:class:`DirectoryMemo` keeps it on disk across jobs. It is safe to delete.
"""

from __future__ import annotations

import ast
import contextlib
import functools
import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import xxhash

from ..common.files import atomic_write_text
from ..common.notebooks import code_cells, parse_python
from .digests import ALGORITHM, digest_bytes, digest_text, hex_part

FORMAT_VERSION = 3


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
            atomic_write_text(self._path(key), summary.to_json(), durable=False)


def _memoized(
    kind: str,
    path: Path,
    context: str,
    memo: CodeMemo | None,
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
        tree = parse_python(source, path, line)
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
    return SourceSummary(
        digest_text(ast.dump(strip_docstrings(tree), annotate_fields=False)), imports
    )


@functools.lru_cache(maxsize=1024)
def _summarize_script(path: Path, raw_digest: str) -> SourceSummary:
    return SourceSummary(raw_digest, ())


def source_summary(
    path: Path, kind: str, function: str = "", memo: CodeMemo | None = None
) -> SourceSummary:
    """The normalized digest and imports of a task's source, by the task's kind."""
    if kind == "function":
        return module_summary(path, function.rpartition(".")[0].rpartition(".")[0], memo)
    if kind == "shell":
        return _memoized("script", path, "", memo, _summarize_script)
    return notebook_summary(path, memo)


def module_summary(path: Path, package: str, memo: CodeMemo | None = None) -> SourceSummary:
    """Normalized digest and (absolute) imports of a module inside ``package``."""
    return _memoized(
        "module", path, package, memo, lambda p, raw: _summarize_module(p, raw, package)
    )


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
    """A notebook's code digest, plus what it is made of (for reasons and package keys).

    ``parts`` maps ``"notebook"`` and each local module's key (its path under the
    import root, ``flights/cleaning.py``) to that source's normalized digest.
    """

    digest: str
    imports: frozenset[str]
    local: tuple[str, ...]
    parts: Mapping[str, str] = field(default_factory=dict)


def code_summary(
    path: Path,
    search: Sequence[Path],
    python: str,
    memo: CodeMemo | None = None,
    also: Iterable[str] = (),
    kind: str = "notebook",
    function: str = "",
) -> CodeSummary:
    """Code digest of a notebook: its code, the local modules it imports, ``python``.

    ``python`` is the ``major.minor`` version of the interpreter that runs it;
    ``also``: more modules its products depend on, as if imported (its checks');
    ``kind`` and ``function``: what the source is (see :func:`source_summary`).
    """
    notebook = source_summary(path, kind, function, memo)
    modules = local_modules([*notebook.imports, *also], search, memo)
    modules.pop(path, None)  # a function's own module is the "notebook" part
    hasher = xxhash.xxh3_128()
    hasher.update(f"nbrules-code-v{FORMAT_VERSION}\0python{python}\0".encode())
    if kind != "notebook":
        hasher.update(f"{kind}\0{function}\0".encode())
    hasher.update(notebook.normalized.encode())
    parts = {"notebook": notebook.normalized}
    for module, summary in modules.items():
        key = module_key(module, search)
        parts[key] = summary.normalized
        hasher.update(f"\0module\0{key}\0{summary.normalized}".encode())
    imports = {*notebook.imports, *(n for s in modules.values() for n in s.imports)}
    local = tuple(k for k in parts if k != "notebook")
    return CodeSummary(f"{ALGORITHM}:{hasher.hexdigest()}", frozenset(imports), local, parts)


def module_key(module: Path, search: Sequence[Path]) -> str:
    for root in search:
        try:
            return module.relative_to(root).as_posix()
        except ValueError:
            continue
    return module.name

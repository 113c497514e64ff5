"""Code normalisation and content digests (xxh3-128, tagged ``xxh3-128:<hex>``).

The *normalized code* of a notebook is the ``ast.dump`` of its code cells, joined
in order, with comments, blank lines, formatting, docstrings, markdown cells and
any stale ``injected-parameters`` cell dropped: reformatting with black or editing
prose gives the same digest; any change to what runs gives another.

A notebook's *code digest* adds the normalized code of every project-local module
it imports (transitively, resolved against the kernel's import path) and the
Python minor version, so editing a helper module invalidates exactly the notebooks
that import it.
"""

from __future__ import annotations

import ast
import functools
import sys
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import xxhash

from .declarations import code_cells
from .errors import NbrulesError

ALGORITHM = "xxh3-128"
FORMAT_VERSION = 1
_CHUNK = 1 << 20


def digest_bytes(data: bytes) -> str:
    return f"{ALGORITHM}:{xxhash.xxh3_128_hexdigest(data)}"


def digest_text(text: str) -> str:
    return digest_bytes(text.encode("utf-8"))


def digest_file(path: Path) -> str:
    """Stream a file through xxh3-128 (1 MiB chunks, constant memory)."""
    hasher = xxhash.xxh3_128()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            hasher.update(chunk)
    return f"{ALGORITHM}:{hasher.hexdigest()}"


def short(digest: str) -> str:
    return digest.split(":", 1)[-1][:12]


def python_source(cell_source: str) -> str:
    """IPython cell source → plain Python (magics become calls, as in the kernel)."""
    if not any(line.lstrip().startswith(("%", "!")) for line in cell_source.splitlines()):
        return cell_source
    from IPython.core.inputtransformer2 import TransformerManager

    return TransformerManager().transform_cell(cell_source)


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
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        raise NbrulesError(
            f"syntax error: {exc.msg}",
            path=path,
            line=first_line + (exc.lineno or 1) - 1,
            hint="fix the syntax; the notebook cannot run as written",
        ) from exc
    return ast.dump(strip_docstrings(tree), annotate_fields=False)


@functools.lru_cache(maxsize=4096)
def _normalized_notebook(path: Path, raw_digest: str) -> tuple[str, tuple[str, ...]]:
    parts: list[str] = []
    imports: list[str] = []
    for source, line in code_cells(path):
        source = python_source(source)
        parts.append(normalize_python(source, path, line))
        imports.extend(imported_modules(ast.parse(source)))
    return "\n".join(parts), tuple(imports)


def normalized_notebook(path: Path) -> tuple[str, tuple[str, ...]]:
    """(normalized code, imported module names) of a notebook, memoized by content."""
    return _normalized_notebook(path, digest_file(path))


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


def local_module_files(names: Iterable[str], search: Sequence[Path]) -> list[Path]:
    """Project-local files of the given modules and of what they import, transitively."""
    seen: set[Path] = set()
    pending = list(names)
    done_names: set[str] = set()
    while pending:
        name = pending.pop()
        if name in done_names:
            continue
        done_names.add(name)
        for file, package in _module_files(name, search):
            if file in seen:
                continue
            seen.add(file)
            tree = ast.parse(file.read_text(encoding="utf-8"))
            pending.extend(imported_modules(tree, package))
    return sorted(seen)


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


def code_digest(path: Path, search: Sequence[Path]) -> str:
    """Digest of what a notebook runs: its code, local modules it imports, Python minor."""
    code, imports = normalized_notebook(path)
    hasher = xxhash.xxh3_128()
    hasher.update(f"nbrules-code-v{FORMAT_VERSION}\0python{sys.version_info[:2]}\0".encode())
    hasher.update(code.encode("utf-8"))
    for module in local_module_files(imports, search):
        hasher.update(b"\0module\0" + module_key(module, search).encode())
        hasher.update(_normalized_module(module, digest_file(module)).encode("utf-8"))
    return f"{ALGORITHM}:{hasher.hexdigest()}"


def module_key(module: Path, search: Sequence[Path]) -> str:
    for root in search:
        try:
            return module.relative_to(root).as_posix()
        except ValueError:
            continue
    return module.name


@functools.lru_cache(maxsize=4096)
def _normalized_module(path: Path, raw_digest: str) -> str:
    return normalize_python(path.read_text(encoding="utf-8"), path)

"""Jupytext notebook text: reading cells, mapping them to file lines, parsing code.

A notebook source is a jupytext script (percent or light format). It is parsed
once per distinct text and process (discovery, the code digest and execution all
need the cells; jupytext's parse dominates Snakefile parse time). IPython syntax
(``%magic``, ``!shell``, ``%%cell`` magics) is turned into plain Python calls for
:mod:`ast` by :func:`python_source` — no IPython import, which belongs to engines.
"""

from __future__ import annotations

import ast
import functools
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import DeclarationError

if TYPE_CHECKING:
    import nbformat

PARAMETERS_TAG = "parameters"
INJECTED_TAG = "injected-parameters"


def read_notebook(path: Path, text: str | None = None) -> nbformat.NotebookNode:
    """Read a jupytext script into a notebook; errors name the file.

    The result is shared between callers: treat it as read-only (copy to change).
    """
    if text is None:
        text = path.read_text(encoding="utf-8")
    try:
        return _parse_jupytext(text, path.suffix or ".py")
    except Exception as exc:  # jupytext raises many types on bad headers
        raise DeclarationError(
            f"cannot read as a jupytext notebook: {exc}",
            path=path,
            hint="keep notebooks in jupytext percent format ('# %%' cell markers)",
        ) from exc


@functools.lru_cache(maxsize=2048)
def _parse_jupytext(text: str, suffix: str) -> nbformat.NotebookNode:
    import jupytext  # imported on first use: a cache-hit job never parses a notebook

    nb: nbformat.NotebookNode = jupytext.reads(text, fmt=suffix.lstrip("."))
    return nb


def parameters_source(path: Path, text: str) -> tuple[str, int] | None:
    """(source, file line of its line 1) of the ``parameters`` cell; ``None`` if none.

    A plain percent script — the common case, 1,000 of them at every Snakefile parse
    of a large pipeline — is split by :func:`_fast_parameters` with a few regular
    expressions (about 30 times faster than a jupytext parse); anything else (a YAML header,
    the light format, magics in the cell) goes through jupytext.
    """
    found = _fast_parameters(text)
    if found is not _FALLBACK:
        return found  # type: ignore[return-value]
    nb = read_notebook(path, text)
    index = parameters_cell_index(nb)
    if index is None:
        return None
    return nb.cells[index].source, cell_lines(text, nb.cells[: index + 1])[index]


_FALLBACK = object()
_MARKER = re.compile(r"^#\s*%%(?!%)(?P<rest>.*)$")
_TAGS = re.compile(r"\btags=(\[[^\]]*\])")
_NOT_CODE = re.compile(r"^\s*\[(?:markdown|md|raw)\]")
_MAGIC = re.compile(r"^\s*#\s*[%!]")


@dataclass(frozen=True, slots=True)
class _Cell:
    code: bool
    tags: tuple[str, ...]
    source: str
    line: int
    magic: bool


def _fast_cells(text: str) -> list[_Cell] | None:
    """The cells of a plain, header-less percent script; ``None``: ask jupytext.

    Sources end at their last non-blank line: jupytext keeps some trailing blank
    lines, which no reader of the code (``ast``, the parameters) can tell apart.
    """
    if text.startswith("# ---") or "\r" in text:
        return None
    lines = text.split("\n")
    markers = [(i, m) for i, line in enumerate(lines) if (m := _MARKER.match(line))]
    if not markers or any(line.strip() for line in lines[: markers[0][0]]):
        return None
    cells = []
    for position, (index, match) in enumerate(markers):
        rest = match.group("rest")
        found = _TAGS.search(rest)
        try:
            tags = tuple(json.loads(found.group(1))) if found else ()
        except ValueError:
            return None
        end = markers[position + 1][0] if position + 1 < len(markers) else len(lines)
        body = lines[index + 1 : end]
        while body and not body[-1].strip():
            body.pop()
        magic = any(_MAGIC.match(line) for line in body)
        cells.append(_Cell(not _NOT_CODE.match(rest), tags, "\n".join(body), index + 2, magic))
    return cells


def _fast_parameters(text: str) -> object:
    """The parameters cell of a plain percent script, ``None``, or ``_FALLBACK``."""
    cells = _fast_cells(text)
    if cells is None:
        return _FALLBACK
    for cell in cells:
        if cell.code and PARAMETERS_TAG in cell.tags:
            return _FALLBACK if cell.magic else (cell.source, cell.line)
    return None


def is_injected(cell: Any) -> bool:
    return INJECTED_TAG in cell.metadata.get("tags", [])


def parameters_cell_index(nb: nbformat.NotebookNode) -> int | None:
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and PARAMETERS_TAG in cell.metadata.get("tags", []):
            return index
    return None


def cell_line(text: str, source: str, start: int = 0) -> tuple[int, int]:
    """(1-based file line of the cell's line 1, offset after its last line).

    The search starts at ``start`` and the returned offset lies past the whole cell,
    so walking cells in order never matches a line of an earlier cell (or of
    markdown that quotes code) for a later one.
    """
    rows = [(number, row) for number, row in enumerate(source.splitlines()) if row.strip()]
    if not rows:
        return 1, start
    skipped, first = rows[0]
    found = text.find(first, start)
    if found < 0:
        return 1, start
    end = found + len(first)
    for _, row in rows[1:]:
        at = text.find(row, end)
        if at >= 0:
            end = at + len(row)
    return text.count("\n", 0, found) + 1 - skipped, end


def cell_lines(text: str, cells: Sequence[Any]) -> list[int]:
    """The file line where each cell starts, for cells read from ``text`` in order."""
    lines: list[int] = []
    offset = 0
    for cell in cells:
        line, offset = cell_line(text, cell.source, offset)
        lines.append(line)
    return lines


def code_cells(path: Path) -> list[tuple[str, int]]:
    """(source, first file line) of each code cell a kernel would run.

    A stale ``injected-parameters`` cell (left by papermill or ``nbrules inject``) is
    skipped: it is replaced at execution time, never kept.
    """
    text = path.read_text(encoding="utf-8")
    fast = _fast_cells(text)
    if fast is not None and not any(cell.magic for cell in fast if cell.code):
        return [(c.source, c.line) for c in fast if c.code and INJECTED_TAG not in c.tags]
    cells = read_notebook(path, text).cells
    return [
        (cell.source, line)
        for cell, line in zip(cells, cell_lines(text, cells), strict=True)
        if cell.cell_type == "code" and not is_injected(cell)
    ]


def parse_python(
    source: str,
    path: Path | None,
    first_line: int,
    *,
    what: str = "",
    hint: str = "fix the syntax; the notebook cannot run as written",
) -> ast.Module:
    """``ast.parse`` whose syntax errors name the file line (``first_line`` = line 1)."""
    try:
        return ast.parse(python_source(source))
    except SyntaxError as exc:
        raise DeclarationError(
            f"syntax error{what}: {exc.msg}",
            path=path,
            line=first_line + (exc.lineno or 1) - 1,
            hint=hint,
        ) from exc


_ESCAPED = re.compile(
    r"^(?P<indent>[ \t]*)(?:(?P<target>[\w.]+(?:[ \t]*,[ \t]*[\w.]+)*)"
    r"[ \t]*=[ \t]*)?(?P<command>[%!].*)$"
)
_HELP = re.compile(r"^(?P<indent>[ \t]*)(?P<command>\??[\w.]+\?{1,2})[ \t]*$")


def python_source(cell_source: str) -> str:
    """IPython cell source → plain Python with the same line numbers.

    Each escaped line becomes a call carrying its exact text (``%time x = 1`` →
    ``__ipython__('%time x = 1')``), so an edited magic changes the code digest and a
    comment after one does too (it is part of the magic's argument, as in IPython).
    A ``%%cell`` magic makes the whole cell one such call.
    """
    lines = cell_source.splitlines()
    if not any(
        line.lstrip().startswith(("%", "!")) or line.rstrip().endswith("?") for line in lines
    ):
        return cell_source
    try:
        ast.parse(cell_source)
    except SyntaxError:
        pass
    else:
        return cell_source  # e.g. a '%' operator continuing a bracketed expression
    first = next((line for line in lines if line.strip()), "")
    if first.lstrip().startswith("%%"):
        return f"__ipython_cell__({cell_source!r})" + "\n" * (len(lines) - 1)
    out: list[str] = []
    for line in lines:
        match = _ESCAPED.match(line) or _HELP.match(line)
        if match is None:
            out.append(line)
            continue
        target = match.groupdict().get("target")
        assign = f"{target} = " if target else ""
        out.append(f"{match['indent']}{assign}__ipython__({match['command']!r})")
    return "\n".join(out)

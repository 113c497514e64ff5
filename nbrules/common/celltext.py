"""Text-level edits of a jupytext source: add or remove the injected cell, every other byte kept.

``nbrules inject`` writes the cell the pipeline would inject into the ``.py`` file
itself, and ``nbrules strip`` takes it out again. Going through a notebook object
and back (``jupytext.reads`` then ``writes``) would reformat the file — headers,
blank lines, line endings — so both work on the text: cell boundaries come from
jupytext's own cell readers (the same code that reads the notebook for a build),
as line spans, and the edit splices lines in or out.

The inserted block is built so that removing it restores the file byte for byte:

- a cell follows the ``parameters`` cell: the block (marker line, code, for the
  light format its ``# -`` end marker, then one blank line) goes right before that
  cell, and the injected cell's span is exactly the block;
- the ``parameters`` cell is the last one: a blank line, then the block; the block
  ends with a newline only if the file did (without one, two newlines precede it),
  so :func:`strip_injected` knows how many newlines to take back.

Line endings follow the file's first line ending (CRLF files stay CRLF).
"""

from __future__ import annotations

import stat
from dataclasses import dataclass
from pathlib import Path

from .errors import DeclarationError
from .files import atomic_write_bytes
from .notebooks import INJECTED_TAG, PARAMETERS_TAG

#: Cell markers of the supported formats: (start of a cell with metadata, end marker).
_MARKERS = {"percent": ("# %%", None), "light": ("# +", "# -")}


@dataclass(frozen=True, slots=True)
class CellSpan:
    """One cell of a jupytext text: lines ``[start, end)``, trailing blank lines included."""

    start: int
    end: int
    cell_type: str
    tags: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SourceCells:
    """A jupytext text split into lines (ends kept) and the spans of its cells."""

    format_name: str
    lines: tuple[str, ...]
    cells: tuple[CellSpan, ...]

    def offset(self, line: int) -> int:
        """The character offset where ``line`` starts (or the text's length)."""
        return sum(len(row) for row in self.lines[:line])

    def injected(self) -> list[CellSpan]:
        return [cell for cell in self.cells if INJECTED_TAG in cell.tags]

    def parameters(self) -> CellSpan | None:
        return next(
            (c for c in self.cells if c.cell_type == "code" and PARAMETERS_TAG in c.tags), None
        )


def read_cells(text: str, path: Path | None = None) -> SourceCells:
    """Cell spans of a jupytext ``.py`` text, as jupytext's readers delimit cells."""
    from jupytext.formats import get_format_implementation, guess_format, read_format_from_metadata
    from jupytext.header import header_to_metadata_and_cell

    try:
        name = read_format_from_metadata(text, ".py")
        options: dict[str, object] = {}
        if not name:
            name, options = guess_format(text, ".py")
        implementation = get_format_implementation(".py", name)
        rows = text.splitlines()
        _, _, _, position = header_to_metadata_and_cell(
            rows, implementation.header_prefix, implementation.header_suffix, ".py"
        )
        fmt = {"extension": ".py", "format_name": name, **options}
        cells: list[CellSpan] = []
        while position < len(rows):
            cell, used = implementation.cell_reader_class(fmt, "python").read(rows[position:])
            tags = tuple(cell.metadata.get("tags", ()))
            cells.append(CellSpan(position, position + used, cell.cell_type, tags))
            position += max(used, 1)
    except Exception as exc:  # jupytext raises many types on malformed text
        raise DeclarationError(f"cannot read as a jupytext notebook: {exc}", path=path) from exc
    # ``str.splitlines`` with and without ends splits at the same places.
    return SourceCells(str(name), tuple(text.splitlines(keepends=True)), tuple(cells))


def has_injected(text: str, path: Path | None = None) -> bool:
    """Whether the text holds a cell tagged ``injected-parameters``."""
    return INJECTED_TAG in text and bool(read_cells(text, path).injected())


def strip_injected(text: str, path: Path | None = None) -> str:
    """The text without its ``injected-parameters`` cells; other bytes untouched."""
    if INJECTED_TAG not in text:
        return text
    source = read_cells(text, path)
    for cell in reversed(source.injected()):
        start, end = source.offset(cell.start), source.offset(cell.end)
        head, region, tail = text[:start], text[start:end], text[end:]
        if cell.end >= len(source.lines):
            head = _drop_separator(head, ends_with_newline=_ends_with_newline(region))
        text = head + tail
    return text


def with_injected(text: str, code: str, path: Path | None = None) -> str:
    """The text with ``code`` as its injected cell, right after the ``parameters`` cell.

    A previous injected cell is removed first, so injecting twice replaces it.
    """
    text = strip_injected(text, path)
    source = read_cells(text, path)
    if source.format_name not in _MARKERS:
        raise DeclarationError(
            f"cannot inject into a jupytext '{source.format_name}' script",
            path=path,
            hint="use the percent format ('# %%' cell markers) or the light format",
        )
    parameters = source.parameters()
    if parameters is None:
        raise DeclarationError(
            "notebook has no cell tagged 'parameters'",
            path=path,
            hint='add a cell starting with: # %% tags=["parameters"]',
        )
    newline = _newline(source.lines)
    block = newline.join(_block_lines(source.format_name, code))
    if parameters.end < len(source.lines):
        at = source.offset(parameters.end)
        return text[:at] + block + newline + newline + text[at:]
    if _ends_with_newline(text):
        return text + newline + block + newline
    return text + newline + newline + block


def _block_lines(format_name: str, code: str) -> list[str]:
    start, end = _MARKERS[format_name]
    lines = [f'{start} tags=["{INJECTED_TAG}"]', *code.splitlines()]
    return [*lines, end] if end else lines


def _newline(lines: tuple[str, ...]) -> str:
    for line in lines:
        body = line.rstrip("\r\n")
        if len(body) < len(line):
            return line[len(body) :]
    return "\n"


def _ends_with_newline(text: str) -> bool:
    return text.endswith(("\n", "\r"))


def _drop_separator(head: str, *, ends_with_newline: bool) -> str:
    """Undo what :func:`with_injected` put before a last cell: one blank line, or two newlines.

    Only a blank line is ever taken, so a cell another tool wrote is removed cleanly too.
    """
    first = _without_newline(head)
    if first is None or _without_newline(first) is None:
        return head  # no blank line before the cell: nothing of ours to undo
    return first if ends_with_newline else str(_without_newline(first))


def _without_newline(text: str) -> str | None:
    for ending in ("\r\n", "\n", "\r"):
        if text.endswith(ending):
            return text[: -len(ending)]
    return None


def read_source(path: Path) -> str:
    """A source file's text exactly as stored: no newline translation."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DeclarationError(
            f"not UTF-8 text (byte {exc.start})", path=path, hint="save notebooks as UTF-8"
        ) from None


def write_source(path: Path, text: str) -> None:
    """Replace a source file atomically, keeping its permission bits."""
    atomic_write_bytes(path, text.encode("utf-8"), stat.S_IMODE(path.stat().st_mode))

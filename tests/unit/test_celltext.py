"""Text-level injection and stripping of the injected cell (nbrules.common.celltext)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import jupytext
import pytest

from nbrules.common.celltext import has_injected, read_cells, strip_injected, with_injected
from nbrules.common.errors import DeclarationError
from nbrules.common.notebooks import INJECTED_TAG, code_cells

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((REPO / "workflow" / "notebooks").glob("*.py"))
CODE = "# Parameters injected by nbrules\nupstream = {'a': '/x/a.txt'}\nproduct = '/x/b.ipynb'"


def _parameters_last(text: str) -> str:
    """The text cut right after its parameters cell (which becomes the last cell)."""
    start = text.index('# %% tags=["parameters"]')
    end = text.find("# %%", start + 1)
    return text if end < 0 else text[:end].rstrip("\n") + "\n"


def _light(text: str) -> str:
    return str(jupytext.writes(jupytext.reads(text, "py:percent"), "py:light"))


def variants(text: str) -> Iterator[tuple[str, str]]:
    """Spellings of one notebook: line endings, final newline, format, last cell."""
    for place, base in (("middle", text), ("last", _parameters_last(text))):
        for form, body in (("percent", base), ("light", _light(base))):
            yield f"{place}-{form}", body
            yield f"{place}-{form}-crlf", body.replace("\n", "\r\n")
            yield f"{place}-{form}-no-final-newline", body.rstrip("\n")
            yield f"{place}-{form}-crlf-no-final-newline", body.rstrip("\n").replace("\n", "\r\n")
            yield f"{place}-{form}-trailing-blank-lines", body + "\n\n"


CASES = [
    pytest.param(path.read_text(encoding="utf-8"), name, id=f"{path.stem}-{name}")
    for path in EXAMPLES
    for name, _ in variants(path.read_text(encoding="utf-8"))
]


def _variant(text: str, name: str) -> str:
    return dict(variants(text))[name]


@pytest.mark.parametrize(("text", "name"), CASES)
def test_inject_then_strip_gives_the_original_bytes(text: str, name: str) -> None:
    original = _variant(text, name)
    injected = with_injected(original, CODE)
    assert injected != original
    assert strip_injected(injected) == original


@pytest.mark.parametrize(("text", "name"), CASES)
def test_injecting_twice_replaces_the_cell(text: str, name: str) -> None:
    once = with_injected(_variant(text, name), CODE)
    other = CODE.replace("/x/", "/y/")
    twice = with_injected(once, other)
    assert with_injected(once, CODE) == once
    assert twice.count(INJECTED_TAG) == 1
    assert strip_injected(twice) == _variant(text, name)


@pytest.mark.parametrize(("text", "name"), CASES)
def test_injected_cell_follows_the_parameters_cell_as_jupytext_reads_it(
    text: str, name: str
) -> None:
    original = _variant(text, name)
    nb = jupytext.reads(with_injected(original, CODE), "py")
    tags = [cell.metadata.get("tags", []) for cell in nb.cells]
    at = next(i for i, t in enumerate(tags) if "parameters" in t)
    assert tags[at + 1] == [INJECTED_TAG]
    assert nb.cells[at + 1].source == CODE
    # (Blank lines that ended the file now end the parameters cell: no code changes.)
    others = [
        c.source.rstrip("\n") for c in nb.cells if INJECTED_TAG not in c.metadata.get("tags", [])
    ]
    assert others == [c.source.rstrip("\n") for c in jupytext.reads(original, "py").cells]


def test_injected_cell_keeps_the_files_line_endings() -> None:
    crlf = EXAMPLES[0].read_text(encoding="utf-8").replace("\n", "\r\n")
    injected = with_injected(crlf, CODE)
    assert "\n" not in injected.replace("\r\n", "")


def test_strip_removes_a_cell_another_tool_wrote() -> None:
    nb = jupytext.reads(EXAMPLES[0].read_text(encoding="utf-8"), "py")
    at = next(i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", []))
    cell = jupytext.reads("# %%\nx = 1\n", "py:percent").cells[0]
    cell.metadata["tags"] = [INJECTED_TAG]
    nb.cells.insert(at + 1, cell)
    text = jupytext.writes(nb, "py:percent")
    stripped = strip_injected(text)
    assert not has_injected(stripped)
    assert [c.source for c in jupytext.reads(stripped, "py").cells] == [
        c.source for c in nb.cells if c is not cell
    ]


def test_has_injected_ignores_the_tag_in_plain_code() -> None:
    text = 'TAG = "injected-parameters"\nprint(TAG)\n'
    assert not has_injected(text)
    assert strip_injected(text) == text


def test_injecting_without_a_parameters_cell_is_a_located_error() -> None:
    with pytest.raises(DeclarationError, match="no cell tagged 'parameters'") as error:
        with_injected("# %%\nx = 1\n", CODE, Path("nb.py"))
    assert error.value.render().startswith("nb.py: ")


def test_cell_spans_cover_every_line_once() -> None:
    for path in EXAMPLES:
        source = read_cells(path.read_text(encoding="utf-8"))
        ends = [cell.end for cell in source.cells]
        starts = [cell.start for cell in source.cells]
        assert starts[1:] == ends[:-1]
        assert ends[-1] == len(source.lines)


def test_code_digest_cells_skip_the_injected_cell(tmp_path: Path) -> None:
    path = tmp_path / EXAMPLES[0].name
    path.write_text(EXAMPLES[0].read_text(encoding="utf-8"), encoding="utf-8")
    before = [source for source, _ in code_cells(path)]
    path.write_text(with_injected(path.read_text(encoding="utf-8"), CODE), encoding="utf-8")
    assert [source for source, _ in code_cells(path)] == before

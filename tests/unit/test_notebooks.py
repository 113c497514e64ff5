"""Jupytext cells and lines: the fast parameters-cell reader agrees with jupytext."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from nbrules.common import notebooks
from nbrules.common.notebooks import (
    cell_lines,
    code_cells,
    parameters_cell_index,
    parameters_source,
    python_source,
    read_notebook,
)

ROOT = Path(__file__).resolve().parents[2]
REAL = sorted({*ROOT.glob("workflow/notebooks/*.py"), *ROOT.glob("tests/projects/**/*.py")})


def by_jupytext(path: Path, text: str) -> tuple[str, int] | None:
    nb = read_notebook(path, text)
    index = parameters_cell_index(nb)
    if index is None:
        return None
    return nb.cells[index].source.rstrip(), cell_lines(text, nb.cells[: index + 1])[index]


def by_nbrules(path: Path, text: str) -> tuple[str, int] | None:
    """Trailing blank lines aside (jupytext keeps some), the same source at the same line."""
    found = parameters_source(path, text)
    return None if found is None else (found[0].rstrip(), found[1])


VARIANTS = {
    "leading blank line": '# %% tags=["parameters"]\n\nupstream = None\nproduct = "a.ipynb"\n',
    "trailing blank lines": '# %% tags=["parameters"]\nx = 1\n\n\n\n# %%\ny = 2\n',
    "title and more tags": '# %%\nimport os\n\n# %% Inputs tags=["x", "parameters"]\nx = 1\n',
    "no space marker": '#%% tags=["parameters"]\nx = 1\n#%%\ny = x\n',
    "markdown first": '# %% [markdown]\n# # T\n\n# %% tags=["parameters"]\nx = 1\n',
    "markdown tagged": '# %% [markdown] tags=["parameters"]\n# x\n\n# %%\nx = 1\n',
    "no parameters": "# %%\nx = 1\n\n# %%\ny = 2\n",
    "last cell, no newline": '# %%\na = 1\n# %% tags=["parameters"]\nb = 2',
    "comment lines": '# %% tags=["parameters"]\n# the inputs\nx = 1  # one\n',
}


@pytest.mark.parametrize("path", REAL, ids=lambda p: str(p.relative_to(ROOT)))
def test_fast_reader_agrees_with_jupytext_on_every_repository_notebook(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert by_nbrules(path, text) == by_jupytext(path, text)


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_fast_reader_agrees_with_jupytext_on_tricky_layouts(name: str, tmp_path: Path) -> None:
    path = tmp_path / "n.py"
    text = VARIANTS[name]
    assert notebooks._fast_parameters(text) is not notebooks._FALLBACK
    assert by_nbrules(path, text) == by_jupytext(path, text)


@pytest.mark.parametrize("text", [
    '# ---\n# jupyter:\n#   jupytext:\n#     formats: py:percent\n# ---\n\n'
    '# %% tags=["parameters"]\nx = 1\n',
    '# + tags=["parameters"]\nx = 1\n# -\n',
    '# %% tags=["parameters"]\n# %matplotlib inline\nx = 1\n',
    "# %% tags=['parameters']\nx = 1\n",
    '# %% tags=["parameters"]\r\nx = 1\r\n',
    'import os\n\n# %% tags=["parameters"]\nx = 1\n',
])
def test_anything_unusual_goes_through_jupytext(text: str, tmp_path: Path) -> None:
    path = tmp_path / "n.py"
    assert notebooks._fast_parameters(text) is notebooks._FALLBACK
    assert by_nbrules(path, text) == by_jupytext(path, text)


def test_magics_become_calls_carrying_their_text() -> None:
    source = textwrap.dedent("""\
        %time x = 1
        y = !ls
        if x:
            %debug
        z = (1
             % 2)
        """)
    assert python_source(source).splitlines()[:4] == [
        "__ipython__('%time x = 1')",
        "y = __ipython__('!ls')",
        "if x:",
        "    __ipython__('%debug')",
    ]


def test_a_modulo_continuation_is_left_alone() -> None:
    source = "z = (1\n     % 2)\n"
    assert python_source(source) == source


def jupytext_code_cells(path: Path) -> list[tuple[str, int]]:
    text = path.read_text(encoding="utf-8")
    cells = read_notebook(path, text).cells
    return [(c.source.rstrip(), line) for c, line in zip(cells, cell_lines(text, cells),
                                                         strict=True)
            if c.cell_type == "code" and "injected-parameters" not in c.metadata.get("tags", [])]


@pytest.mark.parametrize("path", REAL, ids=lambda p: str(p.relative_to(ROOT)))
def test_fast_code_cells_agree_with_jupytext_on_every_repository_notebook(path: Path) -> None:
    fast = [(source.rstrip(), line) for source, line in code_cells(path)]
    assert fast == jupytext_code_cells(path)


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_fast_code_cells_agree_with_jupytext_on_tricky_layouts(name: str, tmp_path: Path) -> None:
    path = tmp_path / "n.py"
    path.write_text(VARIANTS[name])
    fast = [(source.rstrip(), line) for source, line in code_cells(path)]
    assert fast == jupytext_code_cells(path)

"""Undeclared outputs: a file a notebook writes but never declares is named, with the notebook.

It would work once and then be missing after a restore, since only declared
products are cached; the build says so while the file is still there.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from .harness import build


@pytest.mark.slow
def test_files_a_notebook_writes_but_does_not_declare_are_named(fresh: Path) -> None:
    source = fresh / "notebooks" / "square.py"
    source.write_text(source.read_text() + (
        '\n# %%\nPath(product["data"]).with_name("debug.csv").write_text("x")\n'
        'for i in range(12):\n    Path(product["data"]).with_name(f"extra-{i:02}.txt")'
        '.write_text("y")\n'))
    first = build(fresh)
    warning = ("notebooks/square.py: warning: notebook 'square' wrote "
               "results/sample/debug.csv during its run, which no product declares")
    assert warning in first.output
    assert first.output.count("notebooks/square.py: warning: notebook 'square' wrote") == 10
    assert "… and 3 more undeclared files" in first.output
    assert "hint: declare them in product" in first.output
    assert "make-data.py: warning" not in first.output  # its products are all declared
    log = (fresh / "logs/sample/square.log").read_text()
    assert warning in log

    shutil.rmtree(fresh / "results")
    build(fresh)  # restored from the cache …
    assert not (fresh / "results/sample/debug.csv").exists()  # … without the undeclared file

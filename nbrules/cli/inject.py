"""``nbrules inject [NOTEBOOK…] [--profile NAME]``: write the pipeline's injected cell into sources.

Right after each notebook's ``parameters`` cell goes exactly the cell a build with
``--profile NAME`` would inject (resolved upstream and product paths, config
values), tagged ``injected-parameters`` and naming the profile. The notebook then
runs top to bottom as a plain script, or cell by cell in any editor (the product
folders are created, as a build creates them before it runs a notebook). Run in the
project folder (where ``snakemake`` runs); ``nbrules strip`` takes the cell out.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ..common.celltext import read_source, with_injected, write_source
from ..common.errors import DeclarationError
from ..common.files import normal
from ..snakemake.injection import NotebookCell, make_product_folders, project_cells
from ..snakemake.project import DEFAULT_PROFILE


def add_parser(sub: Any) -> None:
    inject = sub.add_parser(
        "inject",
        help="write the cell a build injects into notebook sources (nbrules strip removes it)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    inject.add_argument("notebooks", nargs="*", metavar="NOTEBOOK", help="default: every notebook")
    inject.add_argument(
        "--profile",
        default=DEFAULT_PROFILE,
        metavar="NAME",
        help=f"the profile whose config to inject (default: {DEFAULT_PROFILE})",
    )
    inject.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    cells = chosen(project_cells(Path("."), args.profile), [Path(p) for p in args.notebooks])
    for cell in cells:
        if cell.source.suffix == ".ipynb":
            if args.notebooks:
                raise DeclarationError(
                    "nbrules inject writes into jupytext scripts, not .ipynb files",
                    path=cell.source,
                    hint="pair it with a script (jupytext --set-formats ipynb,py:percent) "
                    "and inject into the .py",
                )
            print(f"skipped {cell.source} (an .ipynb: builds inject its parameters at run time)")
            continue
        text = read_source(cell.source)
        new = with_injected(text, cell.code, cell.source)
        if new != text:
            write_source(cell.source, new)
        make_product_folders(cell)
        print(f"injected {cell.source} (profile {cell.profile})")
    return 0


def chosen(cells: list[NotebookCell], paths: list[Path]) -> list[NotebookCell]:
    """The cells of the notebooks named on the command line (all when none is)."""
    if not paths:
        return cells
    by_path = {normal(cell.source): cell for cell in cells}
    picked = []
    for path in paths:
        cell = by_path.get(normal(path))
        if cell is None:
            raise DeclarationError(
                "not a notebook of this pipeline",
                path=path,
                hint="name a notebook of the notebooks folder that declares "
                "'upstream'/'product' (nbrules inject with no argument does them all)",
            )
        picked.append(cell)
    return picked

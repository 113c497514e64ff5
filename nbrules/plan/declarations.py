"""Reading a notebook's own declarations from its ``parameters`` cell.

A notebook task is a jupytext script (percent or light format) whose cell tagged
``parameters`` assigns ``product`` (and usually ``upstream``) as Python literals::

    # %% tags=["parameters"]
    upstream = ["get-data"]
    product = {"nb": "clean.ipynb", "data": "clean.parquet"}
    sample_frac = 1.0

The cell is parsed with :mod:`ast`; values are read with :func:`ast.literal_eval`.
Notebook code is never imported or executed here.

A product path ending in ``/`` is a **folder product** (``"model": "model/"``): the
notebook writes a folder there, which becomes a Snakemake ``directory()`` output
and is cached as a tree. The trailing ``/`` is kept in product paths throughout
the plan (:func:`is_folder`); the notebook and Snakemake see the path without it
(:func:`plain`).
"""

from __future__ import annotations

import ast
import contextlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..common.errors import DeclarationError
from ..common.notebooks import parse_python
from .checks import Check, parse_checks
from .memo import DiscoveryMemo, scan_file
from .report import NB_KEY as NB_KEY
from .report import parse_report, rendered_path

RESERVED = ("upstream", "product", "resources", "cache", "checks", "report")
FOLDER_MARK = "/"


def is_folder(path: str) -> bool:
    """Whether a declared product path names a folder (it ends in ``/``)."""
    return path.endswith(FOLDER_MARK)


def plain(path: str) -> str:
    """A product path as the notebook and Snakemake see it: without the folder mark."""
    return path.rstrip(FOLDER_MARK) or path


@dataclass(frozen=True, slots=True)
class Task:
    """One notebook task: what it reads, what it writes, its parameter defaults.

    ``products`` maps a product key to a path as written (relative to the output
    root); a single-path product is stored under ``nb`` with ``single=True`` and is
    injected back as a plain string.
    """

    name: str
    source: Path
    upstream: tuple[str, ...]
    products: Mapping[str, str]
    single: bool = False
    params: Mapping[str, Any] = field(default_factory=dict)
    resources: Mapping[str, Any] = field(default_factory=dict)
    line: int = 1
    lines: Mapping[str, int] = field(default_factory=dict)
    declared: frozenset[str] = frozenset()
    #: upstream name -> the wildcard that matched it (``pipeline.yaml``'s ``fit-*``):
    #: such upstreams are injected nested, ``upstream["fit-*"]["fit-0"]``, as Ploomber does.
    groups: Mapping[str, str] = field(default_factory=dict)
    #: ``cache = False`` in the parameters cell: the notebook reads something no digest
    #: covers (a URL, a database, the clock), so it executes whenever it is scheduled.
    cacheable: bool = True
    #: ``checks = {...}``: integrity checks on the products (see :mod:`.checks`).
    checks: tuple[Check, ...] = ()
    #: Product key → caption of what goes in Snakemake's report (see :mod:`.report`).
    report: Mapping[str, str] = field(default_factory=lambda: {NB_KEY: ""})
    #: What runs: a ``notebook`` (``.py`` or ``.ipynb``), a Python ``function`` of the
    #: module ``source`` (``function`` is its dotted path), or a ``shell`` script.
    kind: str = "notebook"
    function: str = ""
    #: nbconvert options for the products rendered as HTML (see ``JobSpec.render``).
    render: Mapping[str, bool] = field(default_factory=dict)

    #: Product key → the file line of its ``"key": "path"`` entry in a dict literal.
    product_lines: Mapping[str, int] = field(default_factory=dict)

    def line_of(self, name: str) -> int:
        return self.lines.get(name, self.line)

    def product_line(self, key: str) -> int:
        """The line of one product's entry (the ``product =`` line if not a dict)."""
        return self.product_lines.get(key, self.line_of("product"))

    @property
    def notebook_product(self) -> str | None:
        return self.products.get(NB_KEY)

    @property
    def rendered(self) -> str | None:
        """The HTML rendering of the executed notebook, for the report (or ``None``)."""
        return rendered_path(self.name, self.products, self.report)

    @property
    def data_products(self) -> dict[str, str]:
        return {k: v for k, v in self.products.items() if k != NB_KEY}


@dataclass(frozen=True, slots=True)
class ParametersCell:
    """The literal assignments of a parameters cell, with their line numbers."""

    line: int
    values: Mapping[str, Any]
    lines: Mapping[str, int]
    non_literal: frozenset[str] = frozenset()
    #: Product key → file line, for a ``product = {...}`` dict literal.
    product_lines: Mapping[str, int] = field(default_factory=dict)
    #: Name → the literal it most likely meant, for a non-literal such as
    #: ``upstream = [clean]`` (bare names quoted: ``["clean"]``).
    quoted: Mapping[str, str] = field(default_factory=dict)


def parse_parameters(source: str, path: Path, first_line: int) -> ParametersCell:
    """Literal assignments of a parameters cell; line numbers are file lines."""
    tree = parse_python(
        source,
        path,
        first_line,
        what=" in parameters cell",
        hint="the parameters cell must be plain Python assignments",
    )
    values: dict[str, Any] = {}
    lines: dict[str, int] = {}
    non_literal: set[str] = set()
    quoted: dict[str, str] = {}
    product_lines: dict[str, int] = {}
    for node in tree.body:
        target, value = _assignment(node)
        if target is None or value is None:
            continue
        lines[target] = first_line + node.lineno - 1
        if target == "product":
            product_lines = _key_lines(value, first_line)
        try:
            values[target] = ast.literal_eval(value)
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            # TypeError: a literal that cannot be built, e.g. {[1]: 2} (unhashable key)
            non_literal.add(target)
            values.pop(target, None)
            suggestion = _quoted_names(value)
            if suggestion is not None:
                quoted[target] = suggestion
        else:
            non_literal.discard(target)
            quoted.pop(target, None)
    return ParametersCell(first_line, values, lines, frozenset(non_literal), product_lines, quoted)


def _key_lines(value: ast.expr, first_line: int) -> dict[str, int]:
    if not isinstance(value, ast.Dict):
        return {}
    return {
        key.value: first_line + key.lineno - 1
        for key in value.keys
        if isinstance(key, ast.Constant) and isinstance(key.value, str)
    }


class _QuoteNames(ast.NodeTransformer):
    def visit_Name(self, node: ast.Name) -> ast.AST:
        return ast.copy_location(ast.Constant(node.id), node)


def _quoted_names(value: ast.expr) -> str | None:
    """``["clean"]`` for ``[clean]``: the literal meant when names lack their quotes."""
    if not any(isinstance(node, ast.Name) for node in ast.walk(value)):
        return None
    fixed = _QuoteNames().visit(ast.parse(ast.unparse(value), mode="eval"))
    try:
        literal = ast.literal_eval(fixed)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return None
    if isinstance(literal, (list, dict)) and all(
        isinstance(item, str) for item in [*literal, *getattr(literal, "values", list)()]
    ):
        return json.dumps(literal)  # written as the README writes them: double quotes
    return ast.unparse(fixed)


def _assignment(node: ast.stmt) -> tuple[str | None, ast.expr | None]:
    if isinstance(node, ast.Assign) and len(node.targets) == 1:
        target = node.targets[0]
        if isinstance(target, ast.Name):
            return target.id, node.value
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
        return node.target.id, node.value
    return None, None


def read_parameters_cell(path: Path, shown: Path | None = None) -> ParametersCell | None:
    """The parameters cell of a notebook file, or ``None`` if it has none.

    ``shown`` is how messages name the file (default: ``path``).
    """
    found = scan_file(path).cell
    if found is None:
        return None
    return parse_parameters(found[0], shown or path, found[1])


def read_declaration(
    path: Path, name: str | None = None, memo: DiscoveryMemo | None = None
) -> Task | None:
    """The task a notebook declares, or ``None`` if the file is not a notebook task."""
    found = memo.scan(path).cell if memo is not None else scan_file(path).cell
    if found is None:
        return None
    cell = parse_parameters(found[0], path, found[1])
    if "product" not in cell.lines and "upstream" not in cell.lines:
        return None
    return task_from_cell(path, name or path.stem, cell)


def task_from_cell(
    path: Path,
    name: str,
    cell: ParametersCell,
    product: Any = None,
    params: Mapping[str, Any] | None = None,
    report_notebook: bool = True,
) -> Task:
    """Validate a parameters cell's declarations into a :class:`Task`.

    ``product`` and ``params`` let another front end (``pipeline.yaml``) supply
    values the notebook leaves as ``None``; ``report_notebook``: whether the executed
    notebook is in the report unless ``report`` says otherwise.
    """
    for key in RESERVED:
        if key in cell.non_literal:
            suggestion = cell.quoted.get(key)
            raise DeclarationError(
                f"'{key}' must be a literal",
                path=path,
                line=cell.lines[key],
                hint=f"quote the names: {key} = {suggestion}"
                if suggestion is not None
                else f"write {key} as a plain list/dict/string literal; it is read, never executed",
            )
    upstream = _upstream(cell, path)
    declared = cell.values.get("product")
    products, single = _products(declared if product is None else product, cell, path)
    defaults = {k: v for k, v in cell.values.items() if k not in RESERVED}
    resources = cell.values.get("resources") or {}
    if not isinstance(resources, dict) or not all(isinstance(k, str) for k in resources):
        raise DeclarationError(
            "'resources' must be a dict of resource names",
            path=path,
            line=cell.lines.get("resources", cell.line),
            hint='resources = {"threads": 2, "mem_mb": 4000, "runtime": 30}',
        )
    return Task(
        name=name,
        source=path,
        upstream=upstream,
        products=products,
        single=single,
        params={**defaults, **(params or {})},
        declared=frozenset(cell.lines) - set(RESERVED),
        resources=resources,
        line=cell.line,
        lines=cell.lines,
        product_lines=cell.product_lines,
        cacheable=_cacheable(cell, path),
        checks=parse_checks(
            cell.values.get("checks"), products, path, cell.lines.get("checks", cell.line)
        ),
        report=parse_report(
            cell.values.get("report"),
            products,
            path,
            cell.lines.get("report", cell.line),
            report_notebook,
        ),
    )


def _cacheable(cell: ParametersCell, path: Path) -> bool:
    value = cell.values.get("cache", True)
    if not isinstance(value, bool):
        raise DeclarationError(
            f"'cache' must be True or False, got {value!r}",
            path=path,
            line=cell.lines.get("cache", cell.line),
            hint="cache = False  # this notebook reads data no digest can cover",
        )
    return value


def _upstream(cell: ParametersCell, path: Path) -> tuple[str, ...]:
    value = cell.values.get("upstream")
    if value is None:
        return ()
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) and v for v in value):
        return tuple(value)
    raise DeclarationError(
        f"'upstream' must be None or a list of notebook names, got {value!r}",
        path=path,
        line=cell.lines.get("upstream", cell.line),
        hint='upstream = ["get-data", "clean"]  (or upstream = None for a source notebook)',
    )


def _products(value: Any, cell: ParametersCell, path: Path) -> tuple[dict[str, str], bool]:
    line = cell.lines.get("product", cell.line)
    hint = 'product = {"nb": "clean.ipynb", "data": "clean.parquet"}  (or one path string)'
    if value is None:
        raise DeclarationError("'product' is not declared", path=path, line=line, hint=hint)
    if isinstance(value, str) and value:
        _not_a_folder(value, path, line)
        return {NB_KEY: value}, True
    if isinstance(value, dict) and value:
        bad = [k for k, v in value.items() if not (isinstance(k, str) and k.isidentifier())]
        bad += [k for k, v in value.items() if not (isinstance(v, str) and v.strip("/"))]
        if not bad:
            _not_a_folder(value.get(NB_KEY, ""), path, cell.product_lines.get(NB_KEY, line))
            return dict(value), False
        raise DeclarationError(
            f"'product' key {bad[0]!r} must be an identifier mapped to a path string",
            path=path,
            line=cell.product_lines.get(bad[0], line) if isinstance(bad[0], str) else line,
            hint=hint,
        )
    raise DeclarationError(
        f"'product' must be a path string or a dict of paths, got {value!r}",
        path=path,
        line=line,
        hint=hint,
    )


def _not_a_folder(notebook: str, path: Path, line: int) -> None:
    if is_folder(notebook):
        raise DeclarationError(
            f"the executed notebook {notebook!r} cannot be a folder",
            path=path,
            line=line,
            hint="the notebook is written as one .ipynb or .html file; folder products take "
            'another key: product = {"nb": "train.ipynb", "model": "model/"}',
        )


def discover(folder: Path, memo: DiscoveryMemo | None = None) -> list[Task]:
    """Every notebook task declared by the ``.py`` and ``.ipynb`` files of ``folder``
    (not recursive)."""
    if not folder.is_dir():
        raise DeclarationError(
            "notebook folder does not exist",
            path=folder,
            hint="set config key nbrules: {notebooks: <folder>} relative to the Snakefile",
        )
    # Hidden files include editor locks such as emacs' dangling ``.#clean.py`` symlinks.
    scripts = list(folder.glob("*.py"))
    stems = {p.stem for p in scripts}
    # An .ipynb paired with a .py script (jupytext pairing) is the same notebook: the .py leads.
    found = [*scripts, *(p for p in folder.glob("*.ipynb") if p.stem not in stems)]
    sources = [p for p in sorted(found) if p.is_file() and not p.name.startswith(".")]
    tasks = (read_declaration(path, memo=memo) for path in sources)
    return [task for task in tasks if task is not None]


def untagged(folder: Path, tasks: Sequence[Task]) -> list[str]:
    """Warnings for the ``.py`` files of ``folder`` written as notebooks (``# %%``
    cells) that are not tasks: most likely a forgotten ``parameters`` tag."""
    known = {Path(task.source).name for task in tasks}
    found = []
    for path in sorted(folder.glob("*.py")):
        if path.name in known or path.name.startswith(".") or not path.is_file():
            continue
        with contextlib.suppress(OSError):
            if re.search(rb"^# %%", path.read_bytes(), re.MULTILINE):
                found.append(
                    f"{path}: has '# %%' cells but no cell tagged 'parameters', so it is "
                    f"not a pipeline notebook\nhint: tag its parameters cell: "
                    f'# %% tags=["parameters"]'
                )
    return found

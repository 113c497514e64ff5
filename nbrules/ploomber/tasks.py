"""One ``pipeline.yaml`` task entry → draft tasks (several for a ``grid``).

A draft holds what the entry and its notebook's ``parameters`` cell say: name,
source, product paths relative to the project folder, params as papermill would
inject them, and the upstream names (still with ``fit-*`` wildcards, which
:mod:`nbrules.pipeline_yaml` expands once every task is known). Grids follow
Ploomber's ``TaskGroup.from_grid``: tasks ``<name>0``, ``<name>1``, … (or ``name``
rendered with ``[[param]]``), products ``out/model-<index>.pkl`` with ``[[param]]``
rendered, ``params`` added to every combination.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import Any

from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment

from ..common.errors import ConfigError, DeclarationError, NbrulesError, Problems
from ..common.files import normal, relative_if_inside
from ..common.text import did_you_mean
from ..common.yaml import YamlMap, line_of
from ..plan.checks import Check, call_target
from ..plan.declarations import NB_KEY, ParametersCell, read_parameters_cell
from . import dotted
from .keys import EXPORT_FLAGS, HONOURED_TASK, SQL_HINT, WARNED_TASK, Warnings, check_keys
from .sources import Source, function_source

_REFUSED_SUFFIX = {
    ".sql": SQL_HINT,
    ".R": "R notebooks are not supported",
    ".Rmd": "R notebooks are not supported",
    ".r": "R notebooks are not supported",
}
#: Source suffix → task kind; a dotted path without a suffix (``tasks.get``) is a function.
_KINDS = {".py": "notebook", ".ipynb": "notebook", ".sh": "shell"}
#: The ``class:`` each kind accepts (Ploomber's task classes).
_CLASSES = {"notebook": "NotebookRunner", "function": "PythonCallable", "shell": "ShellScript"}
#: Ploomber's SQL task and product classes (SQLDump, SQLUpload, PostgresRelation, …).
_SQL_CLASSES = ("SQL", "Postgres")
_NB_SUFFIXES = (".ipynb", ".html", ".htm")
#: ``[[param]]`` in grid names and products: sandboxed, and a misspelled name is an
#: error rather than an empty string.
_GRID_JINJA = SandboxedEnvironment(
    variable_start_string="[[", variable_end_string="]]", undefined=StrictUndefined
)


@dataclass(frozen=True, slots=True)
class Meta:
    """The ``meta`` switches that change how a task entry is read."""

    extract_upstream: bool = True
    extract_product: bool = False
    relative_to_source: bool = False


@dataclass(frozen=True, slots=True)
class Draft:
    """One task before its upstream wildcards are expanded."""

    name: str
    source: Path
    cell: ParametersCell
    product: Any
    params: dict[str, Any]
    upstream: tuple[str, ...] | None
    where: Path
    line: int
    #: ``on_finish``: a check on the whole task, called as Ploomber calls its hook.
    checks: tuple[Check, ...] = ()
    kind: str = "notebook"
    function: str = ""
    #: ``nbconvert_export_kwargs`` nbrules applies to an HTML executed notebook.
    render: Mapping[str, bool] = field(default_factory=dict)


def entry_drafts(
    entry: Any, where: Path, base: Path, root: Path, meta: Meta, warnings: Warnings
) -> list[Draft]:
    """The drafts of one entry of ``tasks:`` (``where`` is the YAML file, for messages)."""
    if isinstance(entry, str):
        entry = YamlMap({"source": entry})
    if not isinstance(entry, Mapping) or "source" not in entry:
        raise ConfigError(
            "each task needs a 'source'",
            path=where,
            line=line_of(entry, "source") if isinstance(entry, Mapping) else None,
            hint="- source: clean.py\n  product: output/clean.ipynb",
        )
    check_keys(entry, HONOURED_TASK, WARNED_TASK, "task", where, warnings)
    found = _source(entry, where, base, root)
    source, kind = found.path, found.kind
    _check_classes(entry, where, kind)
    rel_source = relative_if_inside(source, root)
    cell = _parameters(source, rel_source) if kind == "notebook" else found.cell(rel_source)
    product = _product(entry, cell, source, where, root, meta, kind)
    upstream = _yaml_upstream(entry, where, meta)
    params = _params(entry.get("params"), where, line_of(entry, "params"), root, warnings)
    if "grid" in entry:
        drafts = _grid_drafts(entry, rel_source, cell, product, params, upstream, where, root)
    else:
        name = str(entry.get("name") or found.default_name)
        line = line_of(entry, "source")
        drafts = [Draft(name, rel_source, cell, product, params, upstream, where, line)]
    hooks = _on_finish(entry, where)
    render = _export_kwargs(entry, where, warnings)
    return [
        replace(
            draft, checks=hooks or draft.checks, kind=kind, function=found.function, render=render
        )
        for draft in drafts
    ]


def _export_kwargs(entry: Mapping[str, Any], where: Path, warnings: Warnings) -> dict[str, bool]:
    """The ``nbconvert_export_kwargs`` nbrules honours (``exclude_input``…); others warn."""
    value = entry.get("nbconvert_export_kwargs")
    line = line_of(entry, "nbconvert_export_kwargs")
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ConfigError(
            f"nbconvert_export_kwargs must be a mapping, got {value!r}",
            path=where,
            line=line,
            hint="nbconvert_export_kwargs: {exclude_input: true}",
        )
    honoured = {}
    for key, flag in value.items():
        if key in EXPORT_FLAGS and isinstance(flag, bool):
            honoured[str(key)] = flag
        else:
            warnings.add(
                f"nbconvert_export_kwargs.{key}",
                f"only the HTML flags {', '.join(EXPORT_FLAGS)} (true/false) are applied",
                where,
                line_of(value, key, line),
            )
    return honoured


def _on_finish(entry: Mapping[str, Any], where: Path) -> tuple[Check, ...]:
    """Ploomber's ``on_finish: module.function``: a check on the task's products."""
    value = entry.get("on_finish")
    if value is None:
        return ()
    line = line_of(entry, "on_finish")
    if not isinstance(value, str):
        raise ConfigError(
            f"on_finish: {value!r} is not supported; name one function",
            path=where,
            line=line,
            hint="on_finish: integration_tests.check_clean  (it may take product, params, "
            "upstream)",
        )
    return (Check(None, call_target(value, where, line)),)


def _source(entry: Mapping[str, Any], where: Path, base: Path, root: Path) -> Source:
    text = str(entry["source"])
    line = line_of(entry, "source")
    suffix = PurePosixPath(text).suffix
    label = entry.get("name") or text
    if suffix in _REFUSED_SUFFIX:
        what = "SQL tasks are" if suffix == ".sql" else f"source {text} is"
        raise ConfigError(
            f"task '{label}': {what} not supported",
            path=where,
            line=line,
            hint=_REFUSED_SUFFIX[suffix].format(source=text),
        )
    if suffix not in _KINDS and "/" not in text and "." in text:
        return function_source(text, label, where, line, root)
    if suffix not in _KINDS:
        raise ConfigError(
            f"task '{label}': cannot tell the kind of source {text!r}",
            path=where,
            line=line,
            hint="notebook sources end in .py or .ipynb, shell scripts in .sh; a Python "
            "function is a dotted path (tasks.get)",
        )
    path = normal(base / text)
    if not path.is_file():
        nearby = [p.name for p in path.parent.glob(f"*{suffix}")] if path.parent.is_dir() else []
        raise ConfigError(
            f"task '{label}': source {text} does not exist",
            path=where,
            line=line,
            hint=did_you_mean(
                path.name,
                nearby,
                fallback=(f"paths are relative to {relative_if_inside(base, root) or '.'}/"),
            ),
        )
    return Source(path, _KINDS[suffix])


def _check_classes(entry: Mapping[str, Any], where: Path, kind: str) -> None:
    label = entry.get("name") or entry["source"]
    problems: list[NbrulesError] = []
    checks = (
        ("class", _CLASSES[kind], f"a {kind} task is a {_CLASSES[kind]}"),
        ("product_class", "File", "products are files"),
        ("nb_product_key", NB_KEY, "the executed notebook is product key 'nb'"),
    )
    for key, accepted, why in checks:
        value = entry.get(key, accepted)
        if value == accepted:
            continue
        sql = any(word in str(value) for word in _SQL_CLASSES)
        problems.append(
            ConfigError(
                f"task '{label}': SQL tasks are not supported ({key}: {value})"
                if sql
                else f"task '{label}': {key}: {value} is not supported",
                path=where,
                line=line_of(entry, key),
                hint=SQL_HINT if sql else why,
            )
        )
    Problems.raise_if_any(problems)


def _parameters(path: Path, shown: Path) -> ParametersCell:
    cell = read_parameters_cell(path, shown)
    if cell is None:
        raise DeclarationError(
            "notebook has no cell tagged 'parameters'",
            path=shown,
            hint="add a cell starting with '# %% tags=[\"parameters\"]' (percent format) "
            "or '# + tags=[\"parameters\"]' (light format)",
        )
    return cell


def _product(
    entry: Mapping[str, Any],
    cell: ParametersCell,
    source: Path,
    where: Path,
    root: Path,
    meta: Meta,
    kind: str = "notebook",
) -> Any:
    line = line_of(entry, "product")
    if meta.extract_product:
        if "product" in entry:
            raise ConfigError(
                "with meta.extract_product: true, tasks take 'product' from "
                "the notebook; remove it here",
                path=where,
                line=line,
            )
        value, where, line = cell.values.get("product"), relative_if_inside(source, root), cell.line
    elif "product" not in entry:
        raise ConfigError(
            f"task '{entry.get('name') or entry['source']}' has no 'product'",
            path=where,
            line=line_of(entry, "source"),
            hint="product: {nb: output/clean.ipynb, data: output/clean.csv}",
        )
    else:
        value = entry["product"]
    base = source.parent if meta.relative_to_source else root
    if kind != "notebook":  # no executed notebook: any paths, folders under a key
        return _script_product(value, base, root, where, line)
    if isinstance(value, str):
        return _notebook_path(_product_path(value, base, root, where, line), where, line)
    if isinstance(value, Mapping) and NB_KEY in value:
        paths = {
            str(k): _product_path(v, base, root, where, line, str(k)) for k, v in value.items()
        }
        _notebook_path(paths[NB_KEY], where, line)
        return paths
    raise ConfigError(
        f"'product' must be a path or a dict of paths with an 'nb' key, got {value!r}",
        path=where,
        line=line,
        hint="product: output/report.ipynb  or  product: {nb: output/x.ipynb, data: output/x.csv}",
    )


def _script_product(value: Any, base: Path, root: Path, where: Path, line: int) -> Any:
    if isinstance(value, str):
        return _product_path(value, base, root, where, line)
    if isinstance(value, Mapping) and value:
        return {str(k): _product_path(v, base, root, where, line, str(k)) for k, v in value.items()}
    raise ConfigError(
        f"'product' must be a path or a dict of paths, got {value!r}",
        path=where,
        line=line,
        hint="product: output/raw.csv  or  product: {data: output/x.csv, meta: output/x.json}",
    )


def _notebook_path(path: str, where: Path, line: int | None) -> str:
    if path.endswith("/") or PurePosixPath(path).suffix.lower() not in _NB_SUFFIXES:
        raise ConfigError(
            f"the executed notebook {path} must end in .ipynb or .html",
            path=where,
            line=line,
            hint="nbrules writes the executed notebook as .ipynb, or as HTML with figures "
            "embedded; convert to other formats in a downstream notebook",
        )
    return path


def _product_path(
    value: Any, base: Path, root: Path, where: Path, line: int | None, key: str = NB_KEY
) -> str:
    """A product path relative to the project folder; a folder product ends in ``/``.

    A folder: a path ending in ``/`` or, for any key but ``nb``, one without a suffix
    (Ploomber's ``product: {raw: products/raw}`` where the task writes a folder).
    """
    if not isinstance(value, str) or not value.strip("/\\"):
        raise ConfigError(f"a product path must be a string, got {value!r}", path=where, line=line)
    try:
        relative = normal(base / Path(value).expanduser()).relative_to(root).as_posix()
    except ValueError:
        raise ConfigError(
            f"product {value} is outside the project folder {root}",
            path=where,
            line=line,
            hint="nbrules keeps products inside the project (its cache and "
            "Snakemake track them there)",
        ) from None
    folder = value.endswith(("/", "\\")) or not PurePosixPath(relative).suffix
    return relative + "/" if folder and key != NB_KEY else relative


def _yaml_upstream(entry: Mapping[str, Any], where: Path, meta: Meta) -> tuple[str, ...] | None:
    if "upstream" not in entry:
        return None if meta.extract_upstream else ()
    line = line_of(entry, "upstream")
    if meta.extract_upstream:
        raise ConfigError(
            "a task 'upstream:' needs meta.extract_upstream: false",
            path=where,
            line=line,
            hint="declare upstream in the notebook's parameters cell, or set "
            "meta: {extract_upstream: false}",
        )
    value = entry["upstream"]
    value = [value] if isinstance(value, str) else value or []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(
            f"'upstream' must be a task name or a list of names, got {value!r}",
            path=where,
            line=line,
        )
    return tuple(value)


def _params(value: Any, where: Path, line: int, root: Path, warnings: Warnings) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ConfigError(f"'params' must be a mapping, got {value!r}", path=where, line=line)
    params = {
        str(k): _value(v, f"params.{k}", where, line_of(value, k, line), root)
        for k, v in value.items()
    }
    resources = params.get("resources_")
    if isinstance(resources, Mapping):
        warnings.add(
            "params.resources_",
            "the files are injected as absolute paths, but "
            "their content is not part of the cache key: after editing one, "
            "rebuild with --forcerun TASK",
            where,
            line,
        )
        params["resources_"] = {k: str(normal(root / str(v))) for k, v in resources.items()}
        for key, path in params["resources_"].items():
            if not Path(path).is_file():
                raise ConfigError(
                    f"params.resources_.{key}: {path} is not a file", path=where, line=line
                )
    return params


def _value(value: Any, what: str, where: Path, line: int, root: Path) -> Any:
    """A top-level params or grid value: a dotted path is called (see :mod:`.dotted`)."""
    if dotted.is_dotted(value):
        value = dotted.call(value, what, where, line, root)
    return _injectable(value)


def _injectable(value: Any) -> Any:
    """A YAML value as papermill would inject it: unknown scalars (dates) become str."""
    if isinstance(value, Mapping):
        return {str(k): _injectable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_injectable(v) for v in value]
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    return str(value)


def _grid_drafts(
    entry: Mapping[str, Any],
    source: Path,
    cell: ParametersCell,
    product: Any,
    params: dict[str, Any],
    upstream: tuple[str, ...] | None,
    where: Path,
    root: Path,
) -> list[Draft]:
    """One task per grid combination, named and with products as Ploomber's TaskGroup."""
    line = line_of(entry, "grid")
    if "name" not in entry:
        raise ConfigError(
            "a task with 'grid' needs a 'name' (tasks are named name0, name1, ...)",
            path=where,
            line=line,
            hint="name: fit-",
        )
    name = str(entry["name"])
    drafts = []
    for index, combo in enumerate(_grid(entry["grid"], params, where, line, root)):
        at = (where, line)
        task = _render_grid(name, combo, at) if "[[" in name else f"{name}{index}"
        products = (
            {k: _grid_path(v, index, combo, at) for k, v in product.items()}
            if isinstance(product, dict)
            else _grid_path(product, index, combo, at)
        )
        drafts.append(Draft(task, source, cell, products, combo, upstream, where, line))
    return drafts


def _grid(
    grid: Any, params: Mapping[str, Any], where: Path, line: int, root: Path
) -> Iterator[dict[str, Any]]:
    """Ploomber's ``ParamGrid.product``: each dict's combinations, in order, plus params."""
    grids = [grid] if isinstance(grid, Mapping) else grid
    if not isinstance(grids, list) or not all(isinstance(g, Mapping) for g in grids):
        raise ConfigError(
            "'grid' must be a mapping or a list of mappings",
            path=where,
            line=line,
            hint="grid: {alpha: [0.1, 1.0], fit_intercept: [true]}",
        )
    for one in grids:
        values = {
            str(k): _value(v, f"grid.{k}", where, line_of(one, k, line), root)
            for k, v in one.items()
        }
        overlap = sorted(set(values) & set(params))
        if overlap:
            raise ConfigError(
                f"'grid' and 'params' both set {', '.join(overlap)}", path=where, line=line
            )
        axes = [
            v if isinstance(v, list) else list(v) if isinstance(v, dict) else [v]
            for v in values.values()
        ]
        for combo in itertools.product(*axes):
            yield {**dict(zip(values, combo, strict=True)), **params}


def _grid_path(path: str, index: int, combo: Mapping[str, Any], at: tuple[Path, int]) -> str:
    """``out/model.pkl`` → ``out/model-<index>.pkl``, then ``[[param]]`` rendered.

    A folder product keeps its trailing ``/`` (``out/raw/`` → ``out/raw-<index>/``).
    """
    pure = PurePosixPath(path)
    suffix = "".join(pure.suffixes)
    stem = pure.name.replace(suffix, "") if suffix else pure.name
    folder = "/" if path.endswith("/") else ""
    return _render_grid(str(pure.parent / f"{stem}-{index}{suffix}") + folder, combo, at)


def _render_grid(text: str, combo: Mapping[str, Any], at: tuple[Path, int]) -> str:
    """``[[param]]`` placeholders of a grid name or product; a misspelled one is an error."""
    try:
        return _GRID_JINJA.from_string(text).render(combo)
    except TemplateError as exc:
        name = str(getattr(exc, "message", "") or exc).split("'")[1:2] or [""]
        raise ConfigError(
            f"cannot render {text!r}: {exc}",
            path=at[0],
            line=at[1],
            hint=did_you_mean(name[0], combo, "grid parameters"),
        ) from None

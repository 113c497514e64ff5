"""``nbrules status``: what the next build will do to each notebook, and why.

For every notebook, in pipeline order, one of three states:

- ``up-to-date``: its products on disk are exactly the cached products of its current
  key (or the products its current key last produced): nothing to do;
- ``restore``: its current key is in the cache but the products on disk differ or are
  missing — the build restores them, no kernel starts;
- ``execute``: its current key is not in the cache — a kernel starts. A notebook
  downstream of one that executes cannot know its inputs yet: it is reported as
  ``execute`` ("upstream X executes first"); should X's products come out
  byte-identical, the build restores it instead (early cutoff).

The reasons compare the current key with the task's last key document in the store
(written by every job): the changed code as a short diff of the normalized lines
(comments and blank lines dropped) with ``.py`` line numbers, the local module that
changed, parameters old → new, the inputs that changed and the upstream behind them,
missing products. Nothing is executed and nothing of the build is written: files are
read, digests come from the stat cache (tables' from the table memo, see
:mod:`nbrules.cache.tables`), manifests are read without being repaired.
"""

from __future__ import annotations

import contextlib
import difflib
import io
import os
import tokenize
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..cache.code import CodeSummary
from ..cache.key import KeyParts, canonical_value
from ..cache.statcache import StatCache
from ..cache.store import Manifest, Store, store_root
from ..cache.tables import TableMemo, content_digest, is_table_path, object_table_digest
from ..common.notebooks import cell_lines, is_injected, read_notebook
from .jobspec import JobSpec
from .keys import spec_key_parts

UP_TO_DATE, RESTORE, EXECUTE = "up-to-date", "restore", "execute"
DIFF_LINES = 12


@dataclass(frozen=True, slots=True)
class Status:
    """One notebook's state for the next build, and why."""

    name: str
    state: str
    reasons: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "state": self.state, "reasons": list(self.reasons)}


@dataclass(frozen=True, slots=True)
class _Known:
    """What a notebook's products will be after the build, when that is certain."""

    state: str
    manifest: Manifest | None


def statuses(
    jobs: Sequence[tuple[JobSpec, CodeSummary]],
    cwd: Path,
    cache_root: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> list[Status]:
    """The status of each job, ``jobs`` in topological order."""
    root = store_root(cache_root, cwd, os.environ if environ is None else environ)
    store = Store(root)
    known: dict[str, _Known] = {}
    found: list[Status] = []
    with StatCache(store.stat_cache_path() if root.is_dir() else None) as stats:
        for spec, code in jobs:
            status, state = _one(spec, code, known, store, stats, cwd)
            known[spec.name] = state
            found.append(status)
    return found


def _one(
    spec: JobSpec,
    code: CodeSummary,
    known: Mapping[str, _Known],
    store: Store,
    stats: StatCache,
    cwd: Path,
) -> tuple[Status, _Known]:
    last = store.read_last(spec.name, spec.results)
    running = sorted(
        {
            n.partition("/")[0]
            for n in spec.key_inputs
            if known[n.partition("/")[0]].state == EXECUTE
        }
    )
    if running:
        reasons = [f"upstream '{name}' executes first" for name in running]
        reasons += _code_reasons(code, last, store, cwd, spec.source)
        reasons += _param_reasons(spec, last)
        return Status(spec.name, EXECUTE, tuple(reasons)), _Known(EXECUTE, None)
    inputs = _inputs(spec, known, stats, cwd, store)
    parts = spec_key_parts(spec, code.digest, inputs)
    manifest = _peek(store, parts.key) if spec.cacheable else None
    missing = [name for name, path in spec.products.items() if not (cwd / path).exists()]
    if _on_disk(spec, manifest, stats, cwd, missing) or (
        manifest is None and not missing and last is not None and last.get("key") == parts.key
    ):
        return Status(spec.name, UP_TO_DATE), _Known(UP_TO_DATE, manifest)
    reasons = _reasons(spec, code, parts, last, store, cwd, known)
    if missing:
        reasons.append(f"missing product{'s' if len(missing) > 1 else ''}: {', '.join(missing)}")
    if manifest is not None:
        if not missing:
            reasons.append("products on disk differ from the cached ones")
        return Status(spec.name, RESTORE, tuple(reasons)), _Known(RESTORE, manifest)
    if not spec.cacheable:
        reasons.insert(0, "cache = False: it executes whenever it is scheduled")
    elif last is None:
        reasons.insert(0, "first build")
    elif not reasons:
        reasons.append("not in cache")
    return Status(spec.name, EXECUTE, tuple(reasons)), _Known(EXECUTE, None)


def _inputs(
    spec: JobSpec, known: Mapping[str, _Known], stats: StatCache, cwd: Path, store: Store
) -> dict[str, str]:
    """Input digests: a restoring upstream's cached objects, else the files on disk.

    Tables enter by their table digest, as in the job (memoized by file digest).
    """
    tables = TableMemo.in_store(store.root)
    inputs: dict[str, str] = {}
    for name, path in sorted(spec.key_inputs.items()):
        upstream, _, product = name.partition("/")
        manifest = known[upstream].manifest
        entry = manifest.products.get(product) if manifest is not None else None
        if known[upstream].state == RESTORE and entry is not None:
            table = None
            if is_table_path(path):
                table = object_table_digest(store.object_path(entry.object), entry.object, tables)
            inputs[name] = table or entry.object
            continue
        try:
            inputs[name] = content_digest(stats, cwd / path, tables)
        except OSError:
            inputs[name] = "missing"
    return inputs


def _peek(store: Store, key: str) -> Manifest | None:
    """The manifest of ``key``, read only (a damaged one is not dropped here)."""
    try:
        manifest = Manifest.from_json(store.manifest_path(key).read_text(encoding="utf-8"))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return manifest if manifest.key == key else None


def _on_disk(
    spec: JobSpec, manifest: Manifest | None, stats: StatCache, cwd: Path, missing: Sequence[str]
) -> bool:
    """Whether every product on disk holds exactly the cached bytes of ``manifest``."""
    if manifest is None or missing or set(manifest.products) != set(spec.products):
        return False
    for name, entry in manifest.products.items():
        try:
            if stats.digest(cwd / spec.products[name]) != entry.object:
                return False
        except OSError:
            return False
    return True


def _reasons(
    spec: JobSpec,
    code: CodeSummary,
    parts: KeyParts,
    last: Mapping[str, Any] | None,
    store: Store,
    cwd: Path,
    known: Mapping[str, _Known],
) -> list[str]:
    if last is None:
        return []
    reasons = _code_reasons(code, last, store, cwd, spec.source)
    reasons += _param_reasons(spec, last)
    before = last.get("inputs") or {}
    changed: dict[str, list[str]] = {}
    for name in sorted(set(parts.inputs) | set(before)):
        if parts.inputs.get(name) != before.get(name):
            changed.setdefault(name.partition("/")[0], []).append(name)
    for upstream, names in changed.items():
        how = "restores" if upstream in known and known[upstream].state == RESTORE else "changed"
        reasons.append(f"input changed: {', '.join(names)} (upstream '{upstream}' {how})")
    document = parts.document()
    if document.get("kernel") != last.get("kernel"):
        reasons.append(f"kernel changed: {last.get('kernel')} → {spec.kernel}")
    if document.get("checks") != last.get("checks"):
        reasons.append("checks changed")
    return reasons


def _param_reasons(spec: JobSpec, last: Mapping[str, Any] | None) -> list[str]:
    if last is None:
        return []
    now = canonical_value(dict(spec.params))
    before = last.get("params") or {}
    return [
        f"params changed: {name} {_show(before.get(name))} → {_show(now.get(name))}"
        for name in sorted(set(now) | set(before))
        if now.get(name) != before.get(name)
    ]


def _show(value: Any) -> str:
    text = "(unset)" if value is None else repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _code_reasons(
    code: CodeSummary, last: Mapping[str, Any] | None, store: Store, cwd: Path, source: str
) -> list[str]:
    if last is None or last.get("code") == code.digest:
        return []
    before = last.get("code_parts") or {}
    if not before:
        return ["code changed"]
    reasons = []
    if before.get("notebook") != code.parts.get("notebook"):
        diff = code_diff(cwd / source, store, str(last.get("source")), Path(source))
        reasons.append("code changed:\n" + diff)
    for module in sorted((set(before) | set(code.parts)) - {"notebook"}):
        if before.get(module) != code.parts.get(module):
            what = (
                "added"
                if module not in before
                else ("no longer imported" if module not in code.parts else "changed")
            )
            reasons.append(f"local module {what}: {module}")
    return reasons or ["Python version changed"]


def code_diff(source: Path, store: Store, old_digest: str, shown: Path | None = None) -> str:
    """A short diff of the normalized code lines, ``@@ file.py:LINE @@`` headed."""
    shown = shown or source
    new = normalized_lines(source, source.read_text(encoding="utf-8"))
    try:
        old_text = store.object_path(old_digest).read_text(encoding="utf-8")
    except (OSError, ValueError, UnicodeDecodeError):
        return "  (the previous code is no longer in the cache)"
    old = normalized_lines(source, old_text)
    out: list[str] = []
    matcher = difflib.SequenceMatcher(a=[t for _, t in old], b=[t for _, t in new], autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        line = new[j1][0] if j1 < len(new) else (new[-1][0] if new else 1)
        out.append(f"  @@ {shown.as_posix()}:{line} @@")
        out += [f"  -{text}" for _, text in old[i1:i2]]
        out += [f"  +{text}" for _, text in new[j1:j2]]
    if len(out) > DIFF_LINES:
        out = [*out[:DIFF_LINES], f"  … {len(out) - DIFF_LINES} more lines"]
    return "\n".join(out) or "  (only cell boundaries moved)"


def normalized_lines(path: Path, text: str) -> list[tuple[int, str]]:
    """(file line, code without comments) of every code line a kernel would run."""
    lines: list[tuple[int, str]] = []
    cells = read_notebook(path, text).cells
    for cell_source, first in _code_cells_of(path, text, cells):
        for offset, code in _strip_comments(cell_source):
            lines.append((first + offset, code))
    return lines


def _code_cells_of(path: Path, text: str, cells: Any) -> list[tuple[str, int]]:
    starts = cell_lines(text, cells)
    return [
        (cell.source, line)
        for cell, line in zip(cells, starts, strict=True)
        if cell.cell_type == "code" and not is_injected(cell)
    ]


def _strip_comments(source: str) -> list[tuple[int, str]]:
    """Non-blank lines without comments; lines as 0-based offsets in the cell."""
    comments: dict[int, int] = {}
    with contextlib.suppress(tokenize.TokenError, IndentationError, SyntaxError):
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if token.type == tokenize.COMMENT:
                comments[token.start[0] - 1] = token.start[1]
    out = []
    for number, line in enumerate(source.splitlines()):
        code = line[: comments[number]] if number in comments else line
        if code.strip():
            out.append((number, code.rstrip()))
    return out

"""Undeclared outputs: files a notebook wrote under the output root but never declared.

Such a file works once, then is missing after the products are restored from the
cache (only declared products are cached). So a job that executes a notebook
compares the output root before and after (path, inode, size, mtime of every
file) and warns about each file that appeared or changed and that no notebook of
the pipeline declares — one line per file, at most :data:`MAX_LINES`.

Not looked at: hidden folders (``.git``, ``.snakemake``, ``.nbrules``),
``__pycache__``, the logs folder, nbrules' own temp files and Snakemake's
``.snakemake_timestamp``. An output root of more than :data:`MAX_FILES` files is
not checked (the scan would cost more than it saves). In a parallel build, a
hand-written Snakemake rule writing under the same root at the same time may be
named too: the warning says "wrote during its run", which is all a scan can know.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ..cache.trees import SNAKEMAKE_STAMP
from ..common.files import is_temp

MAX_FILES = 50_000
MAX_LINES = 10
_SKIPPED = frozenset({"__pycache__"})


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Every file under a folder: relative POSIX path → (inode, size, mtime)."""

    files: Mapping[str, tuple[int, int, int]]
    complete: bool


def snapshot(root: Path, skip: Collection[Path] = ()) -> Snapshot:
    """The files under ``root`` now (see the module docstring for what is left out)."""
    files: dict[str, tuple[int, int, int]] = {}
    skipped = {os.path.realpath(path) for path in skip}
    if not root.is_dir():
        return Snapshot(files, True)
    for top, dirs, names in os.walk(root, onerror=lambda error: None):
        here = Path(top)
        dirs[:] = [
            d
            for d in dirs
            if not d.startswith(".") and d not in _SKIPPED
            and os.path.realpath(here / d) not in skipped
        ]  # fmt: skip
        for name in names:
            if is_temp(name) or name == SNAKEMAKE_STAMP:
                continue
            try:
                st = os.lstat(here / name)
            except OSError:
                continue
            files[(here / name).relative_to(root).as_posix()] = (
                st.st_ino, st.st_size, st.st_mtime_ns,
            )  # fmt: skip
            if len(files) > MAX_FILES:
                return Snapshot(files, False)
    return Snapshot(files, True)


def written(before: Snapshot, after: Snapshot) -> list[str]:
    """Files that appeared or changed between two snapshots (sorted)."""
    if not (before.complete and after.complete):
        return []
    return sorted(path for path, sig in after.files.items() if before.files.get(path) != sig)


def undeclared(paths: list[str], declared: Collection[str]) -> list[str]:
    """The ``paths`` no declared product covers (a folder product covers what is inside)."""
    files = {p for p in declared if not p.endswith("/")}
    folders = {p.rstrip("/") for p in declared if p.endswith("/")}
    found = []
    for path in paths:
        parents = {str(parent) for parent in PurePosixPath(path).parents}
        if path not in files and not parents & folders:
            found.append(path)
    return found


def warnings(source: str, task: str, results: str, paths: list[str]) -> list[str]:
    """One warning line per undeclared file (capped), then a hint."""
    if not paths:
        return []
    lines = [
        f"{source}: warning: notebook '{task}' wrote {PurePosixPath(results) / path} "
        "during its run, which no product declares"
        for path in paths[:MAX_LINES]
    ]
    if len(paths) > MAX_LINES:
        lines.append(f"{source}: warning: … and {len(paths) - MAX_LINES} more undeclared files")
    lines.append(
        "hint: declare them in product (a folder: a path ending in '/'); only declared "
        "products are cached, so these files are missing after a restore"
    )
    return lines

"""Warnings given once per build, although every job is its own process.

When the store cannot be written (a full disk, a read-only mount), every job of
the build would otherwise repeat the same warning. The first job to create
``.nbrules/notices/<build>/<kind>`` (``O_EXCL``: exactly one wins) prints it; the
others only note "not cached" in their own line. If even that marker cannot be
created (the working directory's disk is full too), the warning is printed:
twice is better than never.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from pathlib import Path

from ..common.text import safe_name

NOTICES = ".nbrules/notices"
KEEP_SECONDS = 7 * 86400


def first_time(cwd: Path, build: str, kind: str) -> bool:
    """Whether this is the first job of ``build`` to give the notice ``kind``."""
    folder = cwd / NOTICES / safe_name(build)
    try:
        if not folder.is_dir():
            folder.mkdir(parents=True, exist_ok=True)
            _forget_old(folder.parent)
        fd = os.open(folder / safe_name(kind), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        return False
    except OSError:
        return True
    os.close(fd)
    return True


def _forget_old(folder: Path) -> None:
    horizon = time.time() - KEEP_SECONDS
    for old in folder.iterdir():
        with contextlib.suppress(OSError):
            if old.stat().st_mtime < horizon:
                shutil.rmtree(old)

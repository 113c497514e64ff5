"""Copy everything this process and its children write to stdout and stderr into a
file too (``nbrules build --log-file FILE``), at the file-descriptor level, so that
Snakemake's messages, job output and kernel output all land in it.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO


@contextlib.contextmanager
def tee(path: Path) -> Iterator[None]:
    """While open, fds 1 and 2 also go to ``path`` (appended, as Ploomber's log file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    with open(path, "ab") as log:
        saved = {fd: os.dup(fd) for fd in (1, 2)}
        threads = []
        for fd, original in saved.items():
            read, write = os.pipe()
            os.dup2(write, fd)
            os.close(write)
            thread = threading.Thread(target=_copy, args=(read, original, log), daemon=True)
            thread.start()
            threads.append(thread)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            for fd, original in saved.items():
                os.dup2(original, fd)  # the pipe's last writer closes: the copier ends
            for thread in threads:
                thread.join(timeout=10)
            for original in saved.values():
                os.close(original)


_LOCK = threading.Lock()


def _copy(read: int, original: int, log: BinaryIO) -> None:
    with os.fdopen(read, "rb", buffering=0) as source:
        while chunk := source.read(65536):
            os.write(original, chunk)
            with _LOCK:
                log.write(chunk)
                log.flush()

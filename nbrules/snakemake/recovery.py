"""After a ``kill -9`` of Snakemake: remove its stale lock, when that is provably safe.

Snakemake locks the working directory (``.snakemake/locks/``) while it runs and
removes the lock when it ends; a killed Snakemake leaves it behind, and the next
run stops with "Directory cannot be locked" until someone runs ``--unlock``. The
lock files do not say who wrote them, so nbrules keeps its own record: each
Snakemake process that parses nbrules' rules (the main process, never a cluster
job) writes ``.nbrules/snakemake/<host>-<pid>.json`` (host, boot id, pid, start
time) and removes it when it exits.

When Snakemake parses the workflow — before it takes the lock — a lock found in
``.snakemake/locks/`` is removed only if all of these hold:

- every recorded Snakemake process is on this host and provably dead (pid gone,
  a zombie, or another process now, or the host rebooted);
- no other process on this host that mentions ``snakemake`` in its command line
  (or ``nbrules build``, which runs Snakemake in-process) has this directory as
  its working directory — so a plain ``snakemake`` without nbrules counts too.

A record from another host (a project folder on a shared file system) keeps the
lock: this host cannot know whether that run is alive. Then, as before, Snakemake
stops, and the message names the other host.

Incomplete outputs of the killed run are Snakemake's ``--rerun-incomplete``: the
shipped profiles and ``nbrules build`` set it (a killed job's outputs are rebuilt,
never trusted; with the cache, "rebuilt" usually means restored).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import socket
from pathlib import Path

from ..cache.lease import Holder, alive
from ..common.files import atomic_write_text
from ..common.text import safe_name

RECORDS = ".nbrules/snakemake"
LOCKS = ".snakemake/locks"


def recover(cwd: Path) -> str | None:
    """Remove a stale Snakemake lock in ``cwd`` if safe (a message if one was removed),
    then record this Snakemake process."""
    message = _unlock_if_stale(cwd)
    _register(cwd)
    return message


def _unlock_if_stale(cwd: Path) -> str | None:
    locks = list((cwd / LOCKS).glob("*.lock"))
    records = _records(cwd)
    if not locks:
        _forget_dead(records)
        return None
    if any(alive(holder) is not False for holder, _ in records):
        return None
    if _other_snakemake(cwd):
        return None
    for lock in locks:
        with contextlib.suppress(OSError):
            lock.unlink()
    _forget_dead(records)
    who = ", ".join(f"pid {h.pid}" for h, _ in records) or "a Snakemake no longer running"
    return f"nbrules: removed the stale Snakemake lock of a killed run ({who}, not running)"


def _records(cwd: Path) -> list[tuple[Holder, Path]]:
    """Recorded Snakemake processes, but this one (it holds no lock while it parses)."""
    found = []
    me = (socket.gethostname(), os.getpid())
    for path in sorted((cwd / RECORDS).glob("*.json")):
        with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
            holder = Holder.from_json(path.read_text(encoding="utf-8"))
            if (holder.host, holder.pid) != me:
                found.append((holder, path))
    return found


def _forget_dead(records: list[tuple[Holder, Path]]) -> None:
    for holder, path in records:
        if alive(holder) is False:
            with contextlib.suppress(OSError):
                path.unlink()


def _register(cwd: Path) -> None:
    me = Holder.me("snakemake")
    path = cwd / RECORDS / f"{safe_name(socket.gethostname())}-{me.pid}.json"
    try:
        atomic_write_text(path, me.to_json())
    except OSError:
        return
    atexit.register(_unregister, path)


def _unregister(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink()


def _other_snakemake(cwd: Path) -> bool:
    """Whether another live process here runs Snakemake in ``cwd`` (Linux ``/proc``)."""
    proc = Path("/proc")
    if not (proc / "self").exists():
        return True  # cannot tell: keep the lock
    mine = _ancestors()
    here = os.path.realpath(cwd)
    for entry in proc.iterdir():
        if not entry.name.isdigit() or int(entry.name) in mine:
            continue
        try:
            if os.path.realpath(entry / "cwd") != here:
                continue
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
            state = (entry / "stat").read_text().rpartition(")")[2].split()[0]
        except (OSError, IndexError):
            continue
        if state not in ("Z", "X") and (b"snakemake" in command or b"nbrules build" in command):
            return True
    return False


def _ancestors() -> set[int]:
    """This process and its ancestors (a wrapper script in the same folder is not another
    Snakemake)."""
    found = {os.getpid()}
    pid = os.getppid()
    while pid > 1 and pid not in found:
        found.add(pid)
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            break
        pid = int(stat.rpartition(")")[2].split()[1])
    return found

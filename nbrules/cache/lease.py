"""Per-key leases: concurrent builds sharing a store never execute one key twice.

Before a job executes a notebook whose key is not in the store, it takes the key's
lease, ``<store>/leases/<key hex>.json``; a second job wanting the same key (in
another build, another checkout, on another host) finds it taken, waits for the
entry to appear, and restores it.

- **Taking** is one atomic ``link(2)`` of a fully written temp file onto the lease
  name: it fails if the lease exists, on every POSIX file system including NFS
  (where ``O_EXCL`` and ``flock``/``fcntl`` locks are not trustworthy). No SQLite,
  no ``flock`` on the shared path.
- **The holder** is written inside: host, boot id, pid, the process's start time
  (so a reused pid is not mistaken for the holder), when it started, a random token.
- **Heartbeat**: while the notebook runs, the holder touches the lease every
  :data:`HEARTBEAT_SECONDS`.
- **Taken over** when the holder is dead — same host and boot: its pid is gone, a
  zombie, or another process now; same host, other boot: dead — or *stale*: its
  lease has not been touched for ``timeout`` seconds (default
  :data:`DEFAULT_TIMEOUT`, config ``nbrules: {cache_lease_timeout: …}``), measured
  on the waiter's own monotonic clock, so clock skew between hosts does not matter.
- **Breaking** a lease renames it aside (only one waiter's rename succeeds) and
  checks it moved the lease it judged; a fresh lease moved by mistake is put back.

When the holder fails (its notebook raised), it releases the lease without an
entry; a waiter then takes the lease and executes the notebook itself. A lease is
an optimisation of work, never of correctness: if one is lost (a holder stalled
past the timeout) the key may run twice, and both runs publish the same entry.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from ..common.files import temp_path
from .digests import hex_part

HEARTBEAT_SECONDS = 10.0
DEFAULT_TIMEOUT = 120.0
_POLL_FIRST, _POLL_MAX = 0.1, 1.0


@dataclass(frozen=True, slots=True)
class Holder:
    """Who holds a lease."""

    host: str
    boot: str
    pid: int
    start: int | None
    since: float
    token: str
    task: str = ""

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Holder:
        data = json.loads(text)
        start = data.get("start")
        return cls(
            str(data["host"]),
            str(data.get("boot", "")),
            int(data["pid"]),
            int(start) if start is not None else None,
            float(data["since"]),
            str(data["token"]),
            str(data.get("task", "")),
        )

    @classmethod
    def me(cls, task: str = "") -> Holder:
        pid = os.getpid()
        return cls(
            socket.gethostname(), boot_id(), pid, start_time(pid), time.time(),
            secrets.token_hex(8), task,
        )  # fmt: skip

    def describe(self) -> str:
        when = time.strftime("%H:%M:%S", time.localtime(self.since))
        return f"pid {self.pid} on {self.host}, since {when}"


def boot_id() -> str:
    with contextlib.suppress(OSError):
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    return ""


def _proc_stat(pid: int) -> list[str] | None:
    """Fields of ``/proc/<pid>/stat`` after the command name, or ``None``."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text.rpartition(")")[2].split()


def start_time(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (Linux), else ``None``."""
    fields = _proc_stat(pid)
    return int(fields[19]) if fields and len(fields) > 19 else None


def alive(holder: Holder) -> bool | None:
    """Whether the holder still runs: ``None`` when this host cannot tell."""
    if holder.host != socket.gethostname():
        return None
    if holder.boot and boot_id() and holder.boot != boot_id():
        return False  # the host rebooted since
    if Path("/proc/self/stat").exists():
        fields = _proc_stat(holder.pid)
        if fields is None or fields[0] in ("Z", "X"):
            return False
        return holder.start is None or start_time(holder.pid) == holder.start
    try:
        os.kill(holder.pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Lease:
    """A lease this process holds; :meth:`release` it, or use it as a context manager."""

    def __init__(self, path: Path, holder: Holder) -> None:
        self.path = path
        self.holder = holder
        self._stop = threading.Event()
        self._beat: threading.Thread | None = None

    def heartbeat(self, every: float = HEARTBEAT_SECONDS) -> None:
        """Touch the lease every ``every`` seconds until released (a daemon thread)."""
        self._beat = threading.Thread(target=self._run, args=(every,), daemon=True)
        self._beat.start()

    def _run(self, every: float) -> None:
        while not self._stop.wait(every):
            try:
                os.utime(self.path)
            except FileNotFoundError:
                return  # broken by a waiter that judged us stale
            except OSError:
                continue

    def release(self) -> None:
        self._stop.set()
        if self._beat is not None:
            self._beat.join()
        with contextlib.suppress(OSError, ValueError):
            if Holder.from_json(self.path.read_text()).token == self.holder.token:
                self.path.unlink()

    def __enter__(self) -> Lease:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def lease_path(root: Path, key: str) -> Path:
    return root / "leases" / f"{hex_part(key)}.json"


def try_acquire(root: Path, key: str, task: str = "") -> Lease | None:
    """Take the key's lease, or ``None`` if someone holds it; ``OSError`` if the store
    cannot be written (read-only, full)."""
    path = lease_path(root, key)
    path.parent.mkdir(parents=True, exist_ok=True)
    holder = Holder.me(task)
    tmp = temp_path(path, root / "tmp")
    tmp.parent.mkdir(parents=True, exist_ok=True)
    tmp.write_text(holder.to_json())
    try:
        os.link(tmp, path)
    except FileExistsError:
        return None
    except OSError:
        # NFS: the reply to a successful link() can be lost; the link count tells.
        if os.stat(tmp).st_nlink != 2:
            raise
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()
    return Lease(path, holder)


@dataclass(frozen=True, slots=True)
class Seen:
    """A lease as a waiter saw it: who holds it and when it was last touched."""

    holder: Holder | None
    mtime_ns: int
    inode: int


def look(path: Path) -> Seen | None:
    """The lease at ``path`` now, or ``None`` if there is none.

    Opening the file (not just ``stat``) makes an NFS client revalidate its cached
    attributes (close-to-open consistency), so the heartbeat is seen.
    """
    try:
        with open(path, "rb") as handle:
            st = os.fstat(handle.fileno())
            text = handle.read(4096)
    except FileNotFoundError:
        return None
    try:
        holder: Holder | None = Holder.from_json(text.decode("utf-8"))
    except (ValueError, KeyError, TypeError):
        holder = None  # garbage: judged by its heartbeat alone
    return Seen(holder, st.st_mtime_ns, st.st_ino)


def break_lease(path: Path, judged: Seen, tmp: Path) -> bool:
    """Remove the lease ``judged`` dead or stale; ``False`` if it changed meanwhile."""
    aside = temp_path(path, tmp)
    try:
        os.rename(path, aside)
    except FileNotFoundError:
        return False
    if os.lstat(aside).st_ino != judged.inode:
        with contextlib.suppress(OSError):
            os.link(aside, path)  # a fresh lease: put it back (unless taken again)
        aside.unlink(missing_ok=True)
        return False
    aside.unlink(missing_ok=True)
    return True


class Waiter:
    """Decides, poll after poll, whether a lease someone else holds may be broken."""

    def __init__(self, timeout: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.timeout = timeout
        self.clock = clock
        self._last: tuple[int, int] | None = None
        self._since = 0.0

    def may_break(self, seen: Seen) -> bool:
        """Dead holder on this host, or no heartbeat seen for ``timeout`` seconds."""
        if seen.holder is not None and alive(seen.holder) is False:
            return True
        now = self.clock()
        state = (seen.inode, seen.mtime_ns)
        if state != self._last:
            self._last, self._since = state, now
            return False
        return now - self._since >= self.timeout


def acquire_or_wait(
    root: Path,
    key: str,
    ready: Callable[[], bool],
    *,
    task: str = "",
    timeout: float = DEFAULT_TIMEOUT,
    on_wait: Callable[[Holder | None], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Lease | None:
    """The key's lease, or ``None`` once ``ready()`` says its entry exists.

    Blocks while a live holder executes the key. ``OSError``: the store cannot be
    written (the caller runs without a lease).
    """
    waiter = Waiter(timeout)
    path = lease_path(root, key)
    delay = _POLL_FIRST
    told = False
    while True:
        lease = try_acquire(root, key, task)
        if lease is not None:
            return lease
        while not ready():
            seen = look(path)
            if seen is None:
                break  # released: try to take it
            if waiter.may_break(seen) and break_lease(path, seen, root / "tmp"):
                break
            if not told and on_wait is not None:
                on_wait(seen.holder)
                told = True
            sleep(delay)
            delay = min(delay * 2, _POLL_MAX)
        else:
            return None

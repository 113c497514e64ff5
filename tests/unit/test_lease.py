"""lease: one holder per key, heartbeat, take-over of dead and stale holders (real processes)."""

from __future__ import annotations

import dataclasses
import json
import multiprocessing
import os
import signal
import socket
import time
from pathlib import Path

import pytest

from nbrules.cache import lease as leases
from nbrules.cache.digests import digest_bytes
from nbrules.cache.lease import Holder, Seen, Waiter, acquire_or_wait, lease_path, try_acquire

KEY = digest_bytes(b"a key")


def _take(args: tuple[str, float]) -> bool:
    root, hold = args
    lease = try_acquire(Path(root), KEY, "t")
    if lease is None:
        return False
    time.sleep(hold)
    return True


def test_of_many_concurrent_takers_exactly_one_gets_the_lease(tmp_path: Path) -> None:
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        won = pool.map(_take, [(str(tmp_path), 2.0)] * 8)
    assert won.count(True) == 1
    assert not list((tmp_path / "tmp").iterdir())  # the temp files of losers are gone


def test_the_lease_names_its_holder_and_release_removes_it(tmp_path: Path) -> None:
    lease = try_acquire(tmp_path, KEY, "clean")
    assert lease is not None
    holder = Holder.from_json(lease_path(tmp_path, KEY).read_text())
    assert (holder.host, holder.pid, holder.task) == (socket.gethostname(), os.getpid(), "clean")
    assert holder.start == leases.start_time(os.getpid()) and leases.alive(holder) is True
    assert try_acquire(tmp_path, KEY) is None
    lease.release()
    assert not lease_path(tmp_path, KEY).exists()


def test_release_never_removes_a_lease_taken_over_by_another(tmp_path: Path) -> None:
    lease = try_acquire(tmp_path, KEY)
    assert lease is not None
    path = lease_path(tmp_path, KEY)
    other = dataclasses.replace(lease.holder, token="someone-else")
    path.write_text(other.to_json())
    lease.release()
    assert path.exists()


def _hold_then_die(root: str, ready: str) -> None:
    assert try_acquire(Path(root), KEY, "victim") is not None
    Path(ready).touch()
    time.sleep(60)


def test_a_killed_holder_on_this_host_is_taken_over_at_once(tmp_path: Path) -> None:
    process = multiprocessing.get_context("fork").Process(
        target=_hold_then_die, args=(str(tmp_path), str(tmp_path / "ready")))
    process.start()
    while not (tmp_path / "ready").exists():
        time.sleep(0.01)
    os.kill(process.pid or 0, signal.SIGKILL)
    process.join()
    waits: list[float] = []
    lease = acquire_or_wait(tmp_path, KEY, lambda: False, timeout=3600, sleep=waits.append)
    assert lease is not None and lease.holder.pid == os.getpid()
    assert waits == []  # no timeout waited: the pid is gone


def test_a_reused_pid_or_a_reboot_is_not_the_holder() -> None:
    me = Holder.me()
    assert leases.alive(me) is True
    assert leases.alive(dataclasses.replace(me, start=(me.start or 0) + 1)) is False
    assert leases.alive(dataclasses.replace(me, boot="another-boot")) is False
    assert leases.alive(dataclasses.replace(me, host="elsewhere")) is None


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def seen(holder: Holder | None, mtime: int, inode: int = 1) -> Seen:
    return Seen(holder, mtime, inode)


def test_another_hosts_lease_is_stale_only_after_the_timeout_without_heartbeat() -> None:
    remote = dataclasses.replace(Holder.me(), host="node-7")
    clock = Clock()
    waiter = Waiter(timeout=120, clock=clock)
    assert not waiter.may_break(seen(remote, 1))
    clock.now = 100
    assert not waiter.may_break(seen(remote, 2))  # a heartbeat: the clock starts again
    clock.now = 219
    assert not waiter.may_break(seen(remote, 2))
    clock.now = 220
    assert waiter.may_break(seen(remote, 2))


def test_a_garbled_lease_is_judged_by_its_heartbeat_alone() -> None:
    clock = Clock()
    waiter = Waiter(timeout=5, clock=clock)
    assert not waiter.may_break(seen(None, 1))
    clock.now = 5
    assert waiter.may_break(seen(None, 1))


def test_breaking_puts_back_a_lease_that_changed_since_it_was_judged(tmp_path: Path) -> None:
    assert try_acquire(tmp_path, KEY) is not None
    path = lease_path(tmp_path, KEY)
    judged = leases.look(path)
    assert judged is not None
    stale = dataclasses.replace(judged, inode=judged.inode + 1)
    assert not leases.break_lease(path, stale, tmp_path / "tmp")
    assert path.exists()
    assert leases.break_lease(path, judged, tmp_path / "tmp")
    assert not path.exists() and not list((tmp_path / "tmp").iterdir())


def test_the_heartbeat_touches_the_lease(tmp_path: Path) -> None:
    lease = try_acquire(tmp_path, KEY)
    assert lease is not None
    path = lease_path(tmp_path, KEY)
    os.utime(path, (1, 1))
    lease.heartbeat(every=0.05)
    deadline = time.monotonic() + 10
    while path.stat().st_mtime < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    lease.release()
    assert not path.exists()


def test_a_waiter_returns_when_the_entry_appears(tmp_path: Path) -> None:
    held = try_acquire(tmp_path, KEY)
    assert held is not None
    polls: list[float] = []
    told: list[Holder | None] = []
    result = acquire_or_wait(tmp_path, KEY, lambda: len(polls) >= 3, sleep=polls.append,
                             on_wait=told.append)
    assert result is None and len(polls) == 3
    assert told == [held.holder]  # said once, with who holds it


def test_a_lease_file_of_garbage_is_broken_after_the_timeout(tmp_path: Path) -> None:
    path = lease_path(tmp_path, KEY)
    path.parent.mkdir(parents=True)
    path.write_text("{not json")
    lease = acquire_or_wait(tmp_path, KEY, lambda: False, timeout=0.2, sleep=time.sleep)
    assert lease is not None
    assert json.loads(path.read_text())["pid"] == os.getpid()


def test_an_unwritable_store_raises_so_the_job_runs_without_a_lease(tmp_path: Path) -> None:
    (tmp_path / "leases").write_text("a file where the folder should be")
    with pytest.raises(OSError):
        try_acquire(tmp_path, KEY)

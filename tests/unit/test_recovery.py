"""recovery: a stale Snakemake lock is removed only when no Snakemake can be running here."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

from nbrules.cache.lease import Holder
from nbrules.snakemake import recovery


def locked(cwd: Path, *holders: Holder) -> Path:
    lock = cwd / recovery.LOCKS / "0.output.lock"
    lock.parent.mkdir(parents=True)
    lock.write_text("results/x.txt\n")
    for index, holder in enumerate(holders):
        record = cwd / recovery.RECORDS / f"h-{index}.json"
        record.parent.mkdir(parents=True, exist_ok=True)
        record.write_text(holder.to_json())
    return lock


def dead() -> Holder:
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    return dataclasses.replace(Holder.me("snakemake"), pid=int(done.stdout), start=1)


def test_the_lock_of_a_dead_snakemake_is_removed(tmp_path: Path) -> None:
    lock = locked(tmp_path, dead())
    message = recovery.recover(tmp_path)
    assert message is not None and "removed the stale Snakemake lock" in message
    assert not lock.exists()
    records = list((tmp_path / recovery.RECORDS).iterdir())
    assert [Holder.from_json(r.read_text()).pid for r in records] == [Holder.me().pid]


def test_the_lock_of_a_live_or_remote_snakemake_is_kept(tmp_path: Path) -> None:
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        live = dataclasses.replace(Holder.me("snakemake"), pid=sleeper.pid, start=None)
        lock = locked(tmp_path, live)
        assert recovery.recover(tmp_path) is None and lock.exists()
    finally:
        sleeper.kill()
        sleeper.wait()
    remote = dataclasses.replace(Holder.me("snakemake"), host="node-7")
    record = tmp_path / recovery.RECORDS / "remote.json"
    record.write_text(remote.to_json())
    assert recovery.recover(tmp_path) is None and lock.exists()


def test_the_lock_is_kept_while_another_snakemake_runs_here_without_nbrules(
    tmp_path: Path,
) -> None:
    lock = locked(tmp_path, dead())
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", "snakemake"],
                             cwd=tmp_path)
    try:
        assert recovery.recover(tmp_path) is None
        assert lock.exists()
    finally:
        other.kill()
        other.wait()
    assert recovery.recover(tmp_path) is not None and not lock.exists()


def test_without_a_lock_dead_records_are_forgotten(tmp_path: Path) -> None:
    record = tmp_path / recovery.RECORDS / "old.json"
    record.parent.mkdir(parents=True)
    record.write_text(dead().to_json())
    assert recovery.recover(tmp_path) is None
    assert not record.exists()


def test_the_shipped_profiles_rebuild_the_jobs_a_killed_run_left_incomplete() -> None:
    import yaml

    profiles = Path(__file__).resolve().parents[2] / "profiles"
    for name in ("sample", "dev", "production"):
        settings = yaml.safe_load((profiles / name / "config.yaml").read_text())
        assert settings["rerun-incomplete"] is True, name

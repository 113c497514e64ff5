"""The engine choice end to end: `nbrules build --engine`, config, the cache.

The in-process engine writes the same products as the kernel engine, no kernel log,
and shares its cache entries: a notebook's key does not depend on the engine.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest
from projectlib import copy
from test_build_e2e import kernels, nbrules_build

pytestmark = pytest.mark.slow
DATA = ("cubes.txt", "info.json", "numbers.txt", "squares.txt")


def kernel_logs(project: Path) -> list[str]:
    return sorted(p.name for p in (project / ".nbrules" / "logs").glob("*.kernel.log"))


def test_in_process_builds_the_same_products_and_shares_the_cache(tmp_path: Path) -> None:
    inprocess = copy("ploomber-basic", tmp_path / "a")
    kernel = copy("ploomber-basic", tmp_path / "b")
    assert kernels(inprocess, "--engine", "inprocess", "--cores", "2") == [
        "cube", "get", "report", "squares"]
    assert kernel_logs(inprocess) == []
    assert kernels(kernel, "--cores", "2") == ["cube", "get", "report", "squares"]
    assert kernel_logs(kernel) == ["cube.kernel.log", "get.kernel.log", "report.kernel.log",
                                   "squares.kernel.log"]
    for name in DATA:  # info.json holds the project's path
        ours = (inprocess / "output" / name).read_bytes().replace(bytes(inprocess), b"")
        theirs = (kernel / "output" / name).read_bytes().replace(bytes(kernel), b"")
        assert ours == theirs, name
    for path in (inprocess / "output").iterdir():
        path.unlink()
    assert kernels(inprocess, "--cores", "2") == []  # the kernel engine restores them all
    assert sorted(p.name for p in (inprocess / "output").iterdir()) == sorted(
        p.name for p in (kernel / "output").iterdir())


def test_a_notebook_may_keep_the_kernel_while_the_profile_runs_in_process(
    tmp_path: Path,
) -> None:
    project = copy("ploomber-basic", tmp_path)
    (project / "engines.yaml").write_text(
        "nbrules: {engine: inprocess}\ntasks: {squares: {engine: kernel}}\n")
    assert kernels(project, "--configfile", "engines.yaml") == [
        "cube", "get", "report", "squares"]
    assert kernel_logs(project) == ["squares.kernel.log"]


def test_a_misspelt_engine_stops_the_build_before_anything_runs(tmp_path: Path) -> None:
    project = copy("ploomber-basic", tmp_path)
    done = nbrules_build(project, "--engine", "kernal")
    assert done.returncode == 1
    assert "--engine 'kernal' is not an engine" in done.stderr
    assert "did you mean 'kernel'" in done.stderr
    assert not (project / "output").exists()


def test_a_local_kernel_talks_over_private_sockets_without_a_tcp_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = copy("ploomber-basic", tmp_path)
    sockets = Path(tempfile.mkdtemp(prefix="nbt-"))  # short: socket paths have a length limit
    monkeypatch.setenv("TMPDIR", str(sockets))
    try:
        assert kernels(project, "--cores", "2") == ["cube", "get", "report", "squares"]
        assert list(sockets.iterdir()) == []  # each kernel's socket folder is removed
    finally:
        shutil.rmtree(sockets, ignore_errors=True)
    logs = sorted((project / ".nbrules" / "logs").glob("*.kernel.log"))
    assert len(logs) == 4
    for log in logs:
        assert "without encryption" not in log.read_text(), log.name

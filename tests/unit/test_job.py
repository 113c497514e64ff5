"""job: key → restore on a hit, execute and publish on a miss (fake runner at the seam)."""

from __future__ import annotations

import dataclasses
import json
import multiprocessing
import os
import shutil
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from nbrules.cache.statcache import StatCache
from nbrules.cache.store import Store
from nbrules.common.errors import ExecutionError
from nbrules.plan.jobspec import JobSpec, write_declared
from nbrules.plan.keys import key_parts
from nbrules.plan.settings import CacheSettings, Force
from nbrules.run.execute import RunResult, executed_notebook_path
from nbrules.run.job import Outcome, run_job

NOTEBOOK = '''\
# %% tags=["parameters"]
upstream = ["make"]
product = {"nb": "square.ipynb", "data": "squares.txt"}
power = 2

# %%
import yaml
from mathutil import square
'''


class FakeRunner:
    """Writes products from params and inputs, like a notebook; counts its kernels."""

    def __init__(self, fail: bool = False, during: Any = None) -> None:
        self.calls = 0
        self.fail = fail
        self.during = during

    def __call__(self, spec: JobSpec, cwd: Path) -> RunResult:
        self.calls += 1
        if self.during is not None:
            self.during()
        if self.fail:
            raise ExecutionError("ZeroDivisionError: division by zero", path=spec.source)
        inputs = "".join((cwd / p).read_text() for p in spec.key_inputs.values())
        for name, path in spec.products.items():
            target = cwd / path
            target.parent.mkdir(parents=True, exist_ok=True)
            if name == "nb":  # an executed notebook differs on every run
                target.write_text(json.dumps({"ran_at": time.time_ns()}))
            else:
                target.write_text(f"{spec.params} {inputs}")
        notebook = cwd / spec.products["nb"] if "nb" in spec.products else \
            executed_notebook_path(spec, cwd)
        notebook.parent.mkdir(parents=True, exist_ok=True)
        if "nb" not in spec.products:
            notebook.write_text(f"executed {time.time_ns()}")
        return RunResult(0.01, notebook)


@pytest.fixture
def cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("NBRULES_CACHE", raising=False)
    monkeypatch.setenv("NBRULES_BUILD_ID", "unit")
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "notebooks" / "square.py").write_text(NOTEBOOK)
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "mathutil.py").write_text("def square(n):\n    return n * n\n")
    (tmp_path / "results" / "s").mkdir(parents=True)
    (tmp_path / "results" / "s" / "numbers.txt").write_text("1 2 3")
    (tmp_path / "results" / "s" / "numbers.ipynb").write_text("upstream notebook v1")
    return tmp_path


def spec(root: str = "results/s", **changes: Any) -> JobSpec:
    base = JobSpec(
        name="square",
        source="notebooks/square.py",
        products={"nb": f"{root}/square.ipynb", "data": f"{root}/squares.txt"},
        single=False,
        upstream={"make": {"data": "results/s/numbers.txt", "nb": "results/s/numbers.ipynb"}},
        key_inputs={"make/data": "results/s/numbers.txt"},
        order_inputs=[],
        params={"power": 2},
        log=f"logs/{root.split('/')[-1]}/square.log",
        kernel="python3",
        pythonpath=["notebooks", "src"],
        results=root,
    )
    return dataclasses.replace(base, **changes)


def products(cwd: Path, job_spec: JobSpec) -> dict[str, bytes]:
    return {k: (cwd / p).read_bytes() for k, p in job_spec.products.items()}


def remove_products(cwd: Path, job_spec: JobSpec) -> None:
    for path in job_spec.products.values():
        (cwd / path).unlink()


def test_miss_then_hit_restores_without_a_kernel(cwd: Path) -> None:
    runner = FakeRunner()
    first = run_job(spec(), cwd, runner)
    assert not first.hit and first.reason == "first build" and runner.calls == 1
    before = products(cwd, spec())
    remove_products(cwd, spec())
    second = run_job(spec(), cwd, runner)
    assert second.hit and second.restored == 2 and runner.calls == 1
    assert second.key == first.key
    assert products(cwd, spec()) == before


@pytest.mark.parametrize("change, reason", [
    (lambda c: dataclasses.replace(spec(), params={"power": 3}), "params changed: power"),
    (lambda c: (c / "results/s/numbers.txt").write_text("4 5") and spec(),
     "input changed: make/data"),
    (lambda c: (c / "notebooks/square.py").write_text(NOTEBOOK.replace("power = 2",
                                                                       "power = 2 + 0")) and spec(),
     "code changed"),
    (lambda c: (c / "src/mathutil.py").write_text("def square(n):\n    return n ** 2\n")
     and spec(), "code changed"),
])
def test_a_miss_says_which_part_of_the_key_changed(cwd: Path, change: Any, reason: str) -> None:
    run_job(spec(), cwd, FakeRunner())
    outcome = run_job(change(cwd), cwd, FakeRunner())
    assert not outcome.hit and outcome.reason == reason


def test_comment_edit_and_upstream_notebook_change_are_hits(cwd: Path) -> None:
    run_job(spec(), cwd, FakeRunner())
    (cwd / "notebooks/square.py").write_text("# a comment\n" + NOTEBOOK + "\n# trailing\n")
    (cwd / "results/s/numbers.ipynb").write_text("upstream notebook v2, other timestamps")
    runner = FakeRunner()
    assert run_job(spec(), cwd, runner).hit and runner.calls == 0


def test_another_output_root_hits(cwd: Path) -> None:
    first = run_job(spec(), cwd, FakeRunner())
    runner = FakeRunner()
    other = run_job(spec("results/other"), cwd, runner)
    assert other.hit and other.key == first.key and runner.calls == 0
    assert products(cwd, spec("results/other"))["data"] == products(cwd, spec())["data"]


def test_notebook_that_is_not_a_product_is_cached_too(cwd: Path) -> None:
    single = spec(products={"nb": "results/s/report.html"}, single=True)
    run_job(single, cwd, FakeRunner())
    notebook = executed_notebook_path(single, cwd)
    nb_only = spec(products={"data": "results/s/squares.txt"})
    run_job(nb_only, cwd, FakeRunner())
    executed = executed_notebook_path(nb_only, cwd).read_bytes()
    executed_notebook_path(nb_only, cwd).unlink()
    (cwd / "results/s/squares.txt").unlink()
    outcome = run_job(nb_only, cwd, FakeRunner())
    assert outcome.hit and outcome.restored == 1
    assert executed_notebook_path(nb_only, cwd).read_bytes() == executed
    assert notebook == executed_notebook_path(single, cwd)


def test_damaged_entry_runs_again_and_is_republished(cwd: Path) -> None:
    first = run_job(spec(), cwd, FakeRunner())
    store = Store(cwd / ".nbrules" / "cache")
    manifest = store.lookup(first.key)
    assert manifest is not None
    store.object_path(manifest.products["data"].object).unlink()
    runner = FakeRunner()
    again = run_job(spec(), cwd, runner)
    assert not again.hit and runner.calls == 1
    assert again.reason.startswith("cache entry damaged: object")
    assert run_job(spec(), cwd, FakeRunner()).hit


def test_corrupt_object_of_the_right_size_runs_again_by_default(cwd: Path) -> None:
    checked = spec()
    first = run_job(checked, cwd, FakeRunner())
    store = Store(cwd / ".nbrules" / "cache")
    manifest = store.lookup(first.key)
    assert manifest is not None
    obj = store.object_path(manifest.products["data"].object)
    obj.chmod(0o644)
    obj.write_text(obj.read_text().upper())  # same size, other bytes
    runner = FakeRunner()
    again = run_job(checked, cwd, runner)
    assert not again.hit and runner.calls == 1
    assert again.reason.startswith("cache entry damaged: object") and "is corrupt" in again.reason
    assert b"POWER" not in products(cwd, checked)["data"]
    assert run_job(checked, cwd, FakeRunner()).hit  # republished, good bytes


def test_a_full_store_is_noted_per_job_and_warned_once_per_build(
    cwd: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Store, "publish", full)
    outcome = run_job(spec(), cwd, FakeRunner())
    assert outcome.note == "not cached: No space left on device"
    assert "; not cached" in outcome.line
    assert outcome.warnings[0].startswith("warning: the cache store ")
    assert "(No space left on device)" in outcome.warnings[0]
    other = run_job(spec(params={"power": 3}), cwd, FakeRunner())
    assert other.note == outcome.note and other.warnings == ()  # once per build


def test_code_edited_while_running_is_not_cached(cwd: Path) -> None:
    source = cwd / "notebooks/square.py"
    runner = FakeRunner(during=lambda: source.write_text(NOTEBOOK.replace("2", "3")))
    outcome = run_job(spec(), cwd, runner)
    assert outcome.note == "not cached: the code changed while it ran"
    assert not list((cwd / ".nbrules/cache/manifests").iterdir())


def test_failing_notebook_records_an_error_and_caches_nothing(cwd: Path) -> None:
    with pytest.raises(ExecutionError):
        run_job(spec(), cwd, FakeRunner(fail=True))
    events = next((cwd / ".nbrules/cache/events/unit").glob("*.jsonl")).read_text()
    assert json.loads(events)["result"] == "error"
    assert not list((cwd / ".nbrules/cache/manifests").iterdir())


def test_unusable_store_runs_uncached(cwd: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (cwd / "blocker").write_text("a file, not a folder")
    monkeypatch.setenv("NBRULES_CACHE", str(cwd / "blocker" / "cache"))
    runner = FakeRunner()
    outcome = run_job(spec(), cwd, runner)
    assert runner.calls == 1 and outcome.reason.startswith("cache unavailable")


def test_store_location_from_env_beats_config(cwd: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NBRULES_CACHE", str(cwd / "shared"))
    run_job(spec(), cwd, FakeRunner(), cache=CacheSettings(root="configured"))
    assert list((cwd / "shared" / "manifests").iterdir())
    assert not (cwd / "configured").exists()


def test_cache_settings_reach_the_job_through_the_environment(
    cwd: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NBRULES_RUNTIME", CacheSettings(root="from-env").to_env())
    run_job(spec(), cwd, FakeRunner())
    assert list((cwd / "from-env" / "manifests").iterdir())


def test_cache_packages_keys_on_imported_distributions(cwd: Path) -> None:
    from importlib.metadata import version

    plain, _ = key_parts(spec(), cwd, StatCache(None), None)
    keyed, _ = key_parts(spec(), cwd, StatCache(None), None, packages=True)
    assert plain.packages is None
    assert keyed.packages == {"PyYAML": version("PyYAML")}  # not mathutil: it is local
    assert keyed.key != plain.key


def test_one_line_per_job() -> None:
    hit = Outcome("clean", "xxh3-128:a1b2c3d4e5f6a7b8", hit=True, restored=2)
    assert hit.line == "nbrules: clean: cache hit a1b2c3d4e5f6 (restored 2 products)"
    miss = Outcome("clean", "xxh3-128:a1b2c3d4e5f6a7b8", hit=False, reason="code changed",
                   seconds=3.21)
    assert miss.line == "nbrules: clean: cache miss a1b2c3d4e5f6 — code changed (executed in 3.2s)"
    single = Outcome("r", "xxh3-128:a1b2c3d4e5f6a7b8", hit=True, restored=1)
    assert single.line.endswith("(restored 1 product)")


# ---------------------------------------------------------------- forcing, cache = False


def test_a_forced_job_executes_and_republishes_although_cached(
    cwd: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = run_job(spec(), cwd, FakeRunner())
    store = Store(cwd / ".nbrules" / "cache")
    manifest_path = store.manifest_path(first.key)
    before = manifest_path.read_text()
    monkeypatch.setenv("NBRULES_FORCE", Force(tasks=frozenset({"square"})).to_env())
    runner = FakeRunner()
    forced = run_job(spec(), cwd, runner)
    assert runner.calls == 1 and not forced.hit
    assert forced.reason == "forced (--forceall, --forcerun or --force)"
    assert forced.key == first.key
    assert manifest_path.read_text() != before  # republished: the new executed notebook


def test_forcing_another_notebook_still_restores_this_one(
    cwd: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_job(spec(), cwd, FakeRunner())
    monkeypatch.setenv("NBRULES_FORCE", Force(tasks=frozenset({"other"})).to_env())
    assert run_job(spec(), cwd, FakeRunner()).hit
    monkeypatch.setenv("NBRULES_FORCE", Force(everything=True).to_env())
    assert not run_job(spec(), cwd, FakeRunner()).hit


def test_an_uncacheable_notebook_always_executes_and_publishes_nothing(cwd: Path) -> None:
    uncached = spec(cacheable=False)
    runner = FakeRunner()
    first = run_job(uncached, cwd, runner)
    second = run_job(uncached, cwd, runner)
    assert runner.calls == 2 and not first.hit and not second.hit
    assert second.reason == "cache = False: it executes whenever it is scheduled"
    assert not list((cwd / ".nbrules/cache/manifests").iterdir())


# ---------------------------------------------------------------- trust: leases, damage, leftovers


class SlowRunner(FakeRunner):
    """Counts its runs in a file shared by processes, and takes its time."""

    def __init__(self, counter: Path, seconds: float = 1.0) -> None:
        super().__init__()
        self.counter = counter
        self.seconds = seconds

    def __call__(self, spec: JobSpec, cwd: Path) -> RunResult:
        with open(self.counter, "a") as handle:
            handle.write(f"{os.getpid()}\n")
        time.sleep(self.seconds)
        return super().__call__(spec, cwd)


def _job_in(args: tuple[str, str, str]) -> tuple[bool, bytes]:
    cwd, store, counter = Path(args[0]), args[1], Path(args[2])
    outcome = run_job(spec(), cwd, SlowRunner(counter), environ={"NBRULES_CACHE": store,
                                                                 "NBRULES_BUILD_ID": cwd.name})
    return outcome.hit, (cwd / spec().products["data"]).read_bytes()


def test_concurrent_jobs_of_one_key_in_three_checkouts_execute_it_once(cwd: Path,
                                                                     tmp_path: Path) -> None:
    checkouts = []
    for name in ("one", "two", "three"):
        copy = tmp_path / "checkouts" / name
        shutil.copytree(cwd, copy, ignore=shutil.ignore_patterns("checkouts", ".nbrules"))
        checkouts.append(copy)
    counter = tmp_path / "runs.txt"
    args = [(str(c), str(tmp_path / "shared-store"), str(counter)) for c in checkouts]
    with multiprocessing.get_context("spawn").Pool(3) as pool:
        results = pool.map(_job_in, args)
    assert len(counter.read_text().splitlines()) == 1
    assert sorted(hit for hit, _ in results) == [False, True, True]
    assert len({data for _, data in results}) == 1


def _killed_mid_run(cwd: str) -> None:
    def dies(spec: JobSpec, here: Path) -> RunResult:
        os.kill(os.getpid(), signal.SIGKILL)
        raise AssertionError("unreachable")

    run_job(spec(), Path(cwd), dies)


def test_the_lease_of_a_killed_job_is_taken_over_without_waiting(cwd: Path) -> None:
    process = multiprocessing.get_context("fork").Process(target=_killed_mid_run,
                                                          args=(str(cwd),))
    process.start()
    process.join()
    assert process.exitcode == -signal.SIGKILL
    assert list((cwd / ".nbrules/cache/leases").iterdir())  # the dead job's lease is left
    started = time.monotonic()
    outcome = run_job(spec(), cwd, FakeRunner(), cache=CacheSettings(lease_timeout=3600))
    assert not outcome.hit and time.monotonic() - started < 60
    assert not list((cwd / ".nbrules/cache/leases").iterdir())


def test_temp_files_a_killed_restore_left_are_removed_by_the_next_job(cwd: Path) -> None:
    target = cwd / spec().products["data"]
    target.parent.mkdir(parents=True, exist_ok=True)
    leftover = target.parent / f".{target.name}.0a1b2c3d.nbrules-tmp"
    leftover.write_text("half")
    other = target.parent / ".someone-else.txt.0a1b2c3d.nbrules-tmp"
    other.write_text("not ours")
    run_job(spec(), cwd, FakeRunner())
    assert not leftover.exists() and other.exists()


def test_a_garbled_manifest_is_reported_as_damaged_not_missing(cwd: Path) -> None:
    first = run_job(spec(), cwd, FakeRunner())
    manifest = Store(cwd / ".nbrules/cache").manifest_path(first.key)
    manifest.chmod(0o644)
    manifest.write_text('{"format": "nbrules-cache-v1", "key": ')
    again = run_job(spec(), cwd, FakeRunner())
    assert again.reason.startswith("cache entry damaged: manifest ")
    assert "garbled" in again.reason
    assert run_job(spec(), cwd, FakeRunner()).hit


def test_a_symlink_planted_in_the_store_is_never_followed(cwd: Path, tmp_path: Path) -> None:
    first = run_job(spec(), cwd, FakeRunner())
    store = Store(cwd / ".nbrules/cache")
    entry = store.lookup(first.key)
    assert entry is not None
    obj = store.object_path(entry.products["data"].object)
    secret = tmp_path / "secret"
    secret.write_bytes(b"s" * obj.stat().st_size)
    obj.chmod(0o644)
    obj.unlink()
    obj.symlink_to(secret)
    (cwd / spec().products["data"]).unlink()
    again = run_job(spec(), cwd, FakeRunner())
    assert again.reason == f"cache entry damaged: object {entry.products['data'].object[9:21]} " \
        "is a symbolic link: refused"
    assert b"sss" not in (cwd / spec().products["data"]).read_bytes()
    assert not obj.is_symlink() and secret.exists()


def test_files_written_but_not_declared_are_warned_about(cwd: Path) -> None:
    class Sloppy(FakeRunner):
        def __call__(self, job: JobSpec, here: Path) -> RunResult:
            (here / job.results / "extra.csv").write_text("lost after a restore")
            (here / job.results / "numbers.txt").write_text("1 2 3 4")  # another's product
            return super().__call__(job, here)

    declared = cwd / ".nbrules/jobs"
    declared.mkdir(parents=True)
    write_declared(cwd, "results/s", [spec(), spec(name="make", products={
        "nb": "results/s/numbers.ipynb", "data": "results/s/numbers.txt"})])
    outcome = run_job(spec(), cwd, Sloppy())
    assert outcome.warnings[0] == ("notebooks/square.py: warning: notebook 'square' wrote "
                                   "results/s/extra.csv during its run, which no product declares")
    assert len(outcome.warnings) == 2 and outcome.warnings[1].startswith("hint: ")

"""Cache hits predicted at parse time, so a cluster never queues a mere restore."""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import copy_project, rules_of

from nbrules.plan.jobspec import JobSpec
from nbrules.plan.predict import predicted_hits
from nbrules.plan.settings import CacheSettings, Force, parse_settings
from nbrules.run.execute import RunResult
from nbrules.run.job import run_job
from nbrules.snakemake.rules import RuleSpec, mark_cache_hits

CONFIG = {"results": "results/demo", "params": {"count": 4}}


def fake_runner(spec: JobSpec, cwd: Path) -> RunResult:
    """Writes each product as ``task:key:params``: deterministic, like a real notebook."""
    for key, path in spec.products.items():
        target = cwd / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(f"{spec.name}:{key}:{sorted(spec.params.items())}\n")
    return RunResult(0.0, cwd / spec.products.get("nb", spec.log))


@pytest.fixture
def chain(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = copy_project("chain", tmp_path)
    monkeypatch.chdir(root)
    monkeypatch.setenv("NBRULES_CACHE", str(tmp_path / "team-cache"))
    return root


CACHE = CacheSettings()


def specs(root: Path, config: Mapping[str, object] = CONFIG) -> list[RuleSpec]:
    return rules_of(config, root)


def jobs(rules: list[RuleSpec]) -> list[tuple[JobSpec, str]]:
    return [(rule.job, rule.params["code"]) for rule in rules]


def build(root: Path, rules: list[RuleSpec]) -> None:
    for rule in rules:
        run_job(rule.job, root, runner=fake_runner)


def test_nothing_is_predicted_without_a_cache(chain: Path) -> None:
    assert predicted_hits(jobs(specs(chain)), CACHE, chain) == frozenset()


def test_a_fresh_checkout_predicts_every_cached_notebook(chain: Path) -> None:
    rules = specs(chain)
    build(chain, rules)
    shutil.rmtree(chain / "results")
    assert predicted_hits(jobs(rules), CACHE, chain) == {"make-numbers", "square", "total"}


def test_predictions_match_the_keys_the_jobs_compute(chain: Path) -> None:
    rules = specs(chain)
    build(chain, rules)
    shutil.rmtree(chain / "results")
    for rule in rules:
        outcome = run_job(rule.job, chain, runner=fake_runner)
        assert outcome.hit, outcome.line


def test_outputs_already_on_disk_with_the_cached_bytes_still_predict(chain: Path) -> None:
    rules = specs(chain)
    build(chain, rules)
    assert predicted_hits(jobs(rules), CACHE, chain) == {"make-numbers", "square", "total"}


def test_an_upstream_product_on_disk_with_other_bytes_stops_the_prediction(
    chain: Path,
) -> None:
    rules = specs(chain)
    build(chain, rules)
    (chain / "results/demo/numbers.txt").write_text("edited by hand\n")
    assert predicted_hits(jobs(rules), CACHE, chain) == {"make-numbers"}


def test_a_changed_parameter_predicts_nothing_downstream(chain: Path) -> None:
    build(chain, specs(chain))
    shutil.rmtree(chain / "results")
    changed = specs(chain, {**CONFIG, "params": {"count": 5}})
    assert predicted_hits(jobs(changed), CACHE, chain) == frozenset()


def test_a_code_edit_downstream_keeps_the_upstream_prediction(chain: Path) -> None:
    build(chain, specs(chain))
    shutil.rmtree(chain / "results")
    square = chain / "notebooks" / "square.py"
    square.write_text(square.read_text().replace("n * n", "n * n + 1"))
    assert predicted_hits(jobs(specs(chain)), CACHE, chain) == {"make-numbers"}


def test_a_comment_edit_keeps_every_prediction(chain: Path) -> None:
    build(chain, specs(chain))
    shutil.rmtree(chain / "results")
    square = chain / "notebooks" / "square.py"
    square.write_text(square.read_text().replace("# %%\n", "# %%\n# a comment\n", 1))
    assert predicted_hits(jobs(specs(chain)), CACHE, chain) == {"make-numbers", "square", "total"}


def test_hits_become_local_rules_outside_their_group(chain: Path) -> None:
    config = {**CONFIG, "tasks": {"square": {"group": "g"}, "total": {"group": "g"}}}
    rules = specs(chain, config)
    assert [(r.task, r.group, r.local) for r in rules] == [
        ("make-numbers", None, False), ("square", "g", False), ("total", "g", False)]
    build(chain, rules)
    (chain / "results/demo/squares.txt").unlink()
    square = chain / "notebooks" / "total.py"
    square.write_text(square.read_text() + "\nprint('more')\n")
    marked = mark_cache_hits(specs(chain, config), parse_settings(config, chain, chain), chain)
    assert [(r.task, r.group, r.local) for r in marked] == [
        ("make-numbers", None, True), ("square", None, True), ("total", "g", False)]


def test_a_forced_notebook_and_its_downstream_are_never_predicted(chain: Path) -> None:
    build(chain, specs(chain))
    force = Force(tasks=frozenset({"square"}))
    assert predicted_hits(jobs(specs(chain)), CACHE, chain, force=force) == {"make-numbers"}
    everything = Force(everything=True)
    assert predicted_hits(jobs(specs(chain)), CACHE, chain, force=everything) == frozenset()
    marked = mark_cache_hits(specs(chain), parse_settings(CONFIG, chain, chain), chain, force)
    assert [(r.task, r.local) for r in marked] == [
        ("make-numbers", True), ("square", False), ("total", False)]


def test_an_uncacheable_notebook_is_never_predicted(chain: Path) -> None:
    build(chain, specs(chain))
    uncached = [(replace(spec, cacheable=False) if spec.name == "square" else spec, code)
                for spec, code in jobs(specs(chain))]
    assert predicted_hits(uncached, CACHE, chain) == {"make-numbers"}

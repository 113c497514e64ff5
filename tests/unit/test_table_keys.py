"""Table inputs enter keys by content: jobs, prediction and status agree (fake runner)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import copy_project, rules_of

from nbrules.cache import tables
from nbrules.cache.digests import digest_file
from nbrules.cache.store import Store
from nbrules.cache.tables import TableMemo, is_table_digest
from nbrules.plan.jobspec import JobSpec
from nbrules.plan.predict import predicted_hits
from nbrules.plan.settings import CacheSettings
from nbrules.plan.status import statuses
from nbrules.run.execute import RunResult
from nbrules.run.job import run_job
from nbrules.snakemake.rules import RuleSpec


class TableRunner:
    """``make-table`` writes the same rows with its ``compression``; the others summarize."""

    def __init__(self) -> None:
        self.ran: list[str] = []

    def __call__(self, spec: JobSpec, cwd: Path) -> RunResult:
        self.ran.append(spec.name)
        out = {k: cwd / p for k, p in spec.products.items()}
        if spec.name == "make-table":
            table = pa.table({"id": list(range(2000)), "g": [f"g{i % 3}" for i in range(2000)]})
            pq.write_table(table, out["data"], compression=spec.params["compression"])
        elif spec.name == "summarize":
            table = pq.read_table(cwd / spec.key_inputs["make-table/data"])
            out["summary"].write_text(json.dumps({"rows": table.num_rows}))
        else:
            out["text"].write_text((cwd / spec.key_inputs["summarize/summary"]).read_text())
        out["nb"].write_text(f"{spec.name} executed")
        out["nb.html"].write_text(f"<p>{spec.name} executed</p>")  # for the report
        return RunResult(0.0, out["nb"])


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = copy_project("table-cutoff", tmp_path)
    monkeypatch.chdir(root)
    monkeypatch.setenv("NBRULES_CACHE", str(tmp_path / "cache"))
    # Jobs here follow each other within microseconds; Snakemake's take ≈0.3 s each.
    monkeypatch.setattr(tables, "RACY_NS", 0)
    (root / "results" / "demo").mkdir(parents=True)
    return root


def rules(root: Path, compression: str = "zstd") -> list[RuleSpec]:
    return rules_of({"results": "results/demo", "params": {"compression": compression}}, root)


def build(root: Path, specs: list[RuleSpec], runner: TableRunner) -> list[str]:
    return [run_job(rule.job, root, runner=runner).line for rule in specs]


def test_a_recompressed_table_leaves_downstream_keys_unchanged(project: Path) -> None:
    runner = TableRunner()
    build(project, rules(project), runner)
    table = project / "results/demo/table.parquet"
    before = digest_file(table)
    runner.ran.clear()
    lines = build(project, rules(project, "snappy"), runner)
    assert digest_file(table) != before, "the bytes changed"
    assert runner.ran == ["make-table"], lines
    assert "cache hit" in lines[1] and "cache hit" in lines[2]


def test_the_key_document_tags_table_inputs(project: Path) -> None:
    build(project, rules(project), TableRunner())
    last = Store(project.parent / "cache").read_last("summarize", "results/demo")
    assert last is not None
    assert is_table_digest(last["inputs"]["make-table/data"])


def test_prediction_knows_a_table_input_only_from_the_memo(project: Path) -> None:
    specs = rules(project)
    build(project, specs, TableRunner())
    shutil.rmtree(project / "results")
    jobs = [(rule.job, rule.params["code"]) for rule in specs]
    every = {"make-table", "summarize", "report"}
    assert predicted_hits(jobs, CacheSettings(), project) == every
    shutil.rmtree(TableMemo.in_store(project.parent / "cache").root)
    assert predicted_hits(jobs, CacheSettings(), project) == {"make-table"}


def test_status_sees_a_recompressed_table_as_the_same_input(project: Path) -> None:
    build(project, rules(project), TableRunner())
    snappy = rules(project, "snappy")
    found = {s.name: s for s in statuses([(r.job, _code(r, project)) for r in snappy], project)}
    assert found["make-table"].state == "execute"
    # its downstream cannot be known before it runs; once it has, they are up to date
    build(project, snappy[:1], TableRunner())
    found = {s.name: s for s in statuses([(r.job, _code(r, project)) for r in snappy], project)}
    assert [found[n].state for n in ("summarize", "report")] == ["up-to-date", "up-to-date"]


def _code(rule: RuleSpec, root: Path):  # type: ignore[no-untyped-def]
    from nbrules.plan.keys import spec_code

    return spec_code(rule.job, root, None)


def test_status_says_when_a_notebooks_checks_changed(project: Path) -> None:
    source = project / "notebooks" / "make-table.py"
    text = source.read_text()
    declared = 'row_group_size = 1000\nchecks = {"data": {"rows": [1, None]}}\n'
    source.write_text(text.replace("row_group_size = 1000\n", declared))
    build(project, rules(project), TableRunner())
    source.write_text(source.read_text().replace("[1, None]", "[2, None]"))
    specs = rules(project)
    found = {s.name: s for s in statuses([(r.job, _code(r, project)) for r in specs], project)}
    assert found["make-table"].state == "execute"
    assert "checks changed" in found["make-table"].reasons

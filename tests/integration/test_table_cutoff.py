"""Early cutoff by table content, on real Snakemake runs with real kernels.

``tests/projects/table-cutoff``: ``make-table -> summarize -> report``. ``make-table``
writes the same 5,000 rows whatever its ``compression`` and ``row_group_size``; a
rewrite with other settings has other bytes but the same table digest, so its
downstream notebooks restore instead of executing.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import copy_project

pytestmark = pytest.mark.slow

RESULTS = "results/demo"


@dataclass(frozen=True)
class Build:
    output: str
    events: tuple[dict[str, object], ...]

    def tasks(self, result: str) -> set[str]:
        return {str(e["task"]) for e in self.events if e["result"] == result}


def snakemake(project: Path, *args: str) -> Build:
    build_id = f"test-{uuid.uuid4().hex[:8]}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("NBRULES_")}
    env["NBRULES_BUILD_ID"] = build_id
    done = subprocess.run(
        [sys.executable, "-m", "snakemake", "--cores", "2", *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    events = project / ".nbrules/cache/events" / build_id
    lines = [line for f in sorted(events.glob("*.jsonl")) for line in f.read_text().splitlines()]
    return Build(output, tuple(json.loads(line) for line in lines))


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def set_params(project: Path, **params: object) -> None:
    text = f"results: {RESULTS}\nparams: {json.dumps(params)}\n"
    (project / "config.yaml").write_text(text)


def test_recompressed_table_restores_downstream_instead_of_executing(tmp_path: Path) -> None:
    project = copy_project("table-cutoff", tmp_path)
    first = snakemake(project)
    assert first.tasks("miss") == {"make-table", "summarize", "report"}
    table, summary = project / RESULTS / "table.parquet", project / RESULTS / "summary.json"
    before = {"table": sha(table), "summary": sha(summary)}

    set_params(project, compression="snappy", row_group_size=64)
    second = snakemake(project)

    assert sha(table) != before["table"], "the table's bytes changed"
    assert second.tasks("miss") == {"make-table"}, second.output[-3000:]
    assert second.tasks("hit") == {"summarize", "report"}
    assert sha(summary) == before["summary"]
    assert "cache hit" in (project / "logs/demo/summarize.log").read_text().splitlines()[-1]


def test_changed_rows_still_execute_downstream(tmp_path: Path) -> None:
    project = copy_project("table-cutoff", tmp_path)
    snakemake(project)
    source = project / "notebooks/make-table.py"
    source.write_text(source.read_text().replace("n = 5000", "n = 4000"))
    again = snakemake(project)
    assert again.tasks("miss") == {"make-table", "summarize", "report"}

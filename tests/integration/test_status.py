"""``nbrules status`` against the build that follows it, on real Snakemake runs.

The fixture is tests/projects/cache-chain (make-numbers -> square -> report <-
letters; square imports src/mathutil.py) with a `sample` profile added. After each
edit, status is asked first, then the build runs: every notebook status calls
`execute` must be a cache miss of that build, every `restore` a cache hit, and an
`up-to-date` one must not execute.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from conftest import PROJECTS

pytestmark = pytest.mark.slow

TASKS = ("make-numbers", "letters", "square", "report")


def nbrules(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NBRULES_")}
    return subprocess.run([sys.executable, "-m", "nbrules", *args], cwd=project, env=env,
                          capture_output=True, text=True, timeout=120)


def status(project: Path) -> dict[str, dict[str, Any]]:
    done = nbrules(project, "status", "--json")
    assert done.returncode == 0, done.stderr
    return {entry["name"]: entry for entry in json.loads(done.stdout)}


def build(project: Path) -> dict[str, str]:
    """Run Snakemake; each job's result (hit / miss) from the store's events."""
    build_id = f"status-{uuid.uuid4().hex[:8]}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("NBRULES_")}
    env["NBRULES_BUILD_ID"] = build_id
    done = subprocess.run([sys.executable, "-m", "snakemake", "--profile", "profiles/sample"],
                          cwd=project, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    events = project / ".nbrules/cache/events" / build_id
    return {event["task"]: event["result"]
            for path in sorted(events.glob("*.jsonl"))
            for event in map(json.loads, path.read_text().splitlines())}


def agrees(before: dict[str, dict[str, Any]], after: dict[str, str]) -> None:
    for name, entry in before.items():
        if entry["state"] == "execute":
            assert after.get(name) == "miss", (name, entry, after)
        elif entry["state"] == "restore":
            assert after.get(name) == "hit", (name, entry, after)
        else:
            assert after.get(name) in (None, "hit"), (name, entry, after)


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    project = tmp_path_factory.mktemp("status") / "project"
    shutil.copytree(PROJECTS / "cache-chain", project)
    (project / "profiles" / "sample").mkdir(parents=True)
    profile = project / "profiles/sample/config.yaml"
    profile = project / "profiles/sample/config.yaml"
    profile.write_text("configfile: ../../config.yaml\ncores: 2\n")
    first = status(project)
    assert {name: entry["state"] for name, entry in first.items()} == dict.fromkeys(
        TASKS, "execute")
    assert first["make-numbers"]["reasons"][0] == "first build"
    assert first["square"]["reasons"] == ["upstream 'make-numbers' executes first"]
    agrees(first, build(project))
    return project


@pytest.fixture
def project(built: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "project"
    shutil.copytree(built, copy, symlinks=True)
    return copy


def states(found: dict[str, dict[str, Any]]) -> dict[str, object]:
    return {name: entry["state"] for name, entry in found.items()}


def test_after_a_build_everything_is_up_to_date(project: Path) -> None:
    assert states(status(project)) == dict.fromkeys(TASKS, "up-to-date")


def test_a_comment_edit_changes_nothing(project: Path) -> None:
    edit(project / "notebooks/square.py", "# %%\nfrom", "# %%\n# squares, one per line\nfrom")
    found = status(project)
    assert states(found) == dict.fromkeys(TASKS, "up-to-date")
    agrees(found, build(project))


def test_a_real_edit_shows_the_diff_and_executes_downstream(project: Path) -> None:
    edit(project / "notebooks/square.py", "str(square(n))", "str(square(n) + 1)")
    found = status(project)
    assert states(found) == {"make-numbers": "up-to-date", "letters": "up-to-date",
                             "square": "execute", "report": "execute"}
    (reason,) = found["square"]["reasons"]
    assert reason == (
        "code changed:\n"
        "  @@ notebooks/square.py:13 @@\n"
        '  -    handle.write("\\n".join(str(square(n)) for n in numbers) + "\\n")\n'
        '  +    handle.write("\\n".join(str(square(n) + 1) for n in numbers) + "\\n")')
    assert found["report"]["reasons"] == ["upstream 'square' executes first"]
    agrees(found, build(project))


def test_a_revert_restores_and_says_which_input_comes_back(project: Path) -> None:
    square = project / "notebooks/square.py"
    original = square.read_text()
    edit(square, "str(square(n))", "str(square(n) + 1)")
    build(project)
    square.write_text(original)
    found = status(project)
    assert states(found) == {"make-numbers": "up-to-date", "letters": "up-to-date",
                             "square": "restore", "report": "restore"}
    assert "input changed: square/data (upstream 'square' restores)" in found["report"]["reasons"]
    after = build(project)
    agrees(found, after)
    assert set(after.values()) == {"hit"}


def test_a_parameter_change_says_old_and_new(project: Path) -> None:
    edit(project / "config.yaml", "count: 4", "count: 5")
    found = status(project)
    assert found["make-numbers"]["state"] == "execute"
    assert found["make-numbers"]["reasons"] == ["params changed: count 4 → 5"]
    agrees(found, build(project))


def test_a_local_module_edit_names_the_module(project: Path) -> None:
    edit(project / "src/mathutil.py", "return n * n", "return n * n * 1")
    found = status(project)
    assert found["square"]["state"] == "execute"
    assert found["square"]["reasons"] == ["local module changed: mathutil.py"]
    assert found["letters"]["state"] == "up-to-date"


def test_a_deleted_product_is_restored(project: Path) -> None:
    (project / "results/sample/squares.txt").unlink()
    found = status(project)
    assert found["square"]["state"] == "restore"
    assert found["square"]["reasons"] == ["missing product: data"]
    agrees(found, build(project))


def test_text_output_lists_states_reasons_and_counts(project: Path) -> None:
    edit(project / "config.yaml", "count: 4", "count: 5")
    done = nbrules(project, "status", "make-numbers")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "make-numbers  execute",
        "                params changed: count 4 → 5",
        "1 to execute, 0 to restore, 0 up to date",
    ]


def test_an_unknown_notebook_name_gets_a_hint(project: Path) -> None:
    done = nbrules(project, "status", "sqare")
    assert done.returncode == 1
    assert "no notebook named 'sqare'" in done.stderr
    assert "hint: did you mean 'square'?" in done.stderr

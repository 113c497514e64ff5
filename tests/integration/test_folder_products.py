"""Folder products for real: a notebook's folder and Ploomber's ``product: {raw: products/raw}``.

Both fixtures log every kernel run to ``kernel-runs.txt`` (outside every product, so a
restore never replays it): its new lines after a build are the notebooks executed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PROJECTS = Path(__file__).resolve().parents[1] / "projects"
IGNORE = shutil.ignore_patterns("results", "logs", "products", ".snakemake", ".nbrules",
                                "kernel-runs.txt", "__pycache__")


def run(project: Path, *command: str, env: dict[str, str] | None = None) -> list[str]:
    """Run a build; the notebooks it executed, in order."""
    runs = project / "kernel-runs.txt"
    seen = len(runs.read_text().splitlines()) if runs.exists() else 0
    base = {k: v for k, v in os.environ.items() if not k.startswith("NBRULES_")}
    done = subprocess.run([sys.executable, "-m", *command], cwd=project,
                          env={**base, **(env or {})}, capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 0, (done.stdout + done.stderr)[-5000:]
    return runs.read_text().splitlines()[seen:] if runs.exists() else []


def tree(folder: Path) -> dict[str, bytes | None]:
    """Every file (bytes) and folder (None) under ``folder``, but Snakemake's stamp."""
    return {str(p.relative_to(folder)): (p.read_bytes() if p.is_file() else None)
            for p in sorted(folder.rglob("*")) if p.name != ".snakemake_timestamp"}


@pytest.mark.slow
def test_a_notebook_folder_product_builds_rebuilds_restores_and_reverts(tmp_path: Path) -> None:
    project = tmp_path / "folder-products"
    shutil.copytree(PROJECTS / "folder-products", project, ignore=IGNORE)
    env = {"XDG_CACHE_HOME": str(tmp_path / "xdg")}
    smk = ("snakemake", "--cores", "2", "--configfile", "config.yaml")
    assert run(project, *smk, env=env) == ["make-shards", "count"]
    shards = project / "results/sample/shards"
    first = tree(shards)
    assert first == {"empty": None, "meta": None, "meta/info.json": b'{"shards": 3}',
                     "part-0.txt": b"0\n", "part-1.txt": b"10\n", "part-2.txt": b"20\n"}
    assert (project / "results/sample/total.txt").read_text() == "3 parts, total 30\n"

    assert run(project, *smk, env=env) == []  # no-op
    shutil.rmtree(project / "results")
    assert run(project, *smk, env=env) == []  # restored, the empty folder too
    assert tree(shards) == first

    config = project / "config.yaml"
    config.write_text(config.read_text().replace("n_shards: 3", "n_shards: 4"))
    assert run(project, *smk, env=env) == ["make-shards", "count"]
    assert (project / "results/sample/total.txt").read_text() == "4 parts, total 60\n"
    config.write_text(config.read_text().replace("n_shards: 4", "n_shards: 3"))
    assert run(project, *smk, env=env) == []  # the revert restores the old tree whole
    assert tree(shards) == first
    assert (project / "results/sample/total.txt").read_text() == "3 parts, total 30\n"

    assert list((tmp_path / "xdg" / "nbrules" / "stat").glob("*.sqlite"))  # host-local
    assert not (project / ".nbrules" / "cache" / "stat").exists()


@pytest.mark.slow
def test_ploombers_suffixless_folder_product_builds_rebuilds_and_reverts(tmp_path: Path) -> None:
    project = tmp_path / "ploomber-folder"
    shutil.copytree(PROJECTS / "ploomber-folder", project, ignore=IGNORE)
    assert run(project, "nbrules", "build") == ["load", "summarize"]
    raw = project / "products/raw"
    first = tree(raw)
    assert first == {"test.csv": b"test,0\ntest,1\ntest,2\n",
                     "train.csv": b"train,0\ntrain,1\ntrain,2\n"}
    summary = (project / "products/summary.json").read_bytes()
    assert summary == b'{"test.csv": 3, "train.csv": 3}'

    assert run(project, "nbrules", "build") == []
    spec = project / "pipeline.yaml"
    spec.write_text(spec.read_text().replace("rows: 3", "rows: 5"))
    assert run(project, "nbrules", "build") == ["load", "summarize"]
    assert len((raw / "test.csv").read_text().splitlines()) == 5
    spec.write_text(spec.read_text().replace("rows: 5", "rows: 3"))
    assert run(project, "nbrules", "build") == []
    assert tree(raw) == first and (project / "products/summary.json").read_bytes() == summary

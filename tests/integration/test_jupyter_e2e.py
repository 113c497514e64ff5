"""The Jupyter extension against real ``jupyter server`` processes, through the REST API.

Two servers run on loopback for the module: one with the nbrules extension enabled
the way users enable it (``jpserver_extensions`` in the Jupyter config), one with
jupytext's contents manager alone, each on its own copy of the example project.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
import pytest
from conftest import throwaway_venv
from jupyterlib import Server, isolated_env, jupyter_server

from nbrules.common.notebooks import INJECTED_TAG
from nbrules.jupyter.contents import NbrulesContentsManager
from nbrules.snakemake.injection import project_cells

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = "workflow/notebooks"
EXAMPLES = ("get-data", "clean", "features", "fit-model", "evaluate", "report")


def copy_example(dest: Path) -> Path:
    for folder in ("workflow", "profiles"):
        shutil.copytree(REPO / folder, dest / folder, ignore=shutil.ignore_patterns("__pycache__"))
    # Files that are not pipeline notebooks: a plain jupytext script and a papermill output.
    (dest / "scratch.py").write_text('# %% tags=["parameters"]\nx = 1\n\n# %%\nprint(x)\n')
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("x = 1", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell("x = 2", metadata={"tags": [INJECTED_TAG]}),
    ]
    nbformat.write(nb, dest / "executed.ipynb")
    return dest


@dataclass(frozen=True)
class Servers:
    ours: Server
    plain: Server
    project: Path
    plain_project: Path


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    project = copy_example(tmp_path_factory.mktemp("ours"))
    plain_project = copy_example(tmp_path_factory.mktemp("plain"))
    home = tmp_path_factory.mktemp("jupyter")
    env = isolated_env(home)
    config = {"ServerApp": {"jpserver_extensions": {"nbrules": True}}}
    (home / "config" / "jupyter_server_config.json").write_text(json.dumps(config))
    plain_home = tmp_path_factory.mktemp("jupyter-plain")
    jupytext_only = "--ServerApp.contents_manager_class=jupytext.AsyncTextFileContentsManager"
    with (
        jupyter_server(project, home, env=env) as ours,
        jupyter_server(plain_project, plain_home, jupytext_only) as plain,
    ):
        yield Servers(ours, plain, project, plain_project)


def cells_by_tag(model: dict[str, Any]) -> list[list[str]]:
    return [cell["metadata"].get("tags", []) for cell in model["content"]["cells"]]


def without_ids(content: Any) -> Any:
    """A model's content without cell ids (jupytext draws new ones on every read)."""
    if not isinstance(content, dict):
        return content
    cells = [{k: v for k, v in cell.items() if k != "id"} for cell in content["cells"]]
    return {**content, "cells": cells}


def test_opening_a_pipeline_notebook_shows_the_injected_cell_after_parameters(
    servers: Servers,
) -> None:
    expected = {cell.task: cell.code for cell in project_cells(servers.project, "sample")}
    assert sorted(expected) == sorted(EXAMPLES)
    for name in EXAMPLES:
        model = servers.ours.get(f"{NOTEBOOKS}/{name}.py")
        tags = cells_by_tag(model)
        at = tags.index(["parameters"])
        assert tags[at + 1] == [INJECTED_TAG]
        assert sum(INJECTED_TAG in t for t in tags) == 1
        assert model["content"]["cells"][at + 1]["source"] == expected[name]
    clean = servers.ours.get(f"{NOTEBOOKS}/clean.py")["content"]["cells"]
    assert str(servers.project / "results/sample/data/clean.parquet") in clean[3]["source"]


def test_saving_writes_the_source_without_the_cell_byte_for_byte(servers: Servers) -> None:
    for name in EXAMPLES:
        path = servers.project / NOTEBOOKS / f"{name}.py"
        before = path.read_bytes()
        model = servers.ours.get(f"{NOTEBOOKS}/{name}.py")
        servers.ours.put(
            f"{NOTEBOOKS}/{name}.py", {"type": "notebook", "content": model["content"]}
        )
        assert path.read_bytes() == before, name


def test_saving_an_edit_keeps_the_edit_and_drops_the_cell(servers: Servers) -> None:
    path = servers.project / NOTEBOOKS / "evaluate.py"
    before = path.read_text()
    model = servers.ours.get(f"{NOTEBOOKS}/evaluate.py")
    last = model["content"]["cells"][-1]
    last["source"] += "\nprint('edited in Jupyter')"
    servers.ours.put(f"{NOTEBOOKS}/evaluate.py", {"type": "notebook", "content": model["content"]})
    after = path.read_text()
    assert INJECTED_TAG not in after
    assert after.replace("\nprint('edited in Jupyter')", "") == before


def test_a_source_holding_an_injected_cell_opens_with_one_fresh_cell(servers: Servers) -> None:
    path = servers.project / NOTEBOOKS / "features.py"
    before = path.read_bytes()
    done = subprocess.run(
        [sys.executable, "-m", "nbrules", "inject", f"{NOTEBOOKS}/features.py", "--profile", "dev"],
        cwd=servers.project, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    model = servers.ours.get(f"{NOTEBOOKS}/features.py")
    injected = [
        c for c in model["content"]["cells"] if INJECTED_TAG in c["metadata"].get("tags", [])
    ]
    assert len(injected) == 1
    assert "profile 'sample'" in injected[0]["source"]
    servers.ours.put(f"{NOTEBOOKS}/features.py", {"type": "notebook", "content": model["content"]})
    assert path.read_bytes() == before


@pytest.mark.parametrize("path", ["scratch.py", "executed.ipynb", "workflow/src/flights/io.py"])
def test_other_files_behave_as_with_jupytext_alone(servers: Servers, path: str) -> None:
    ours, plain = servers.ours.get(path), servers.plain.get(path)
    assert ours["type"] == plain["type"]
    assert without_ids(ours["content"]) == without_ids(plain["content"])
    if ours["type"] != "notebook":
        return
    edited = dict(ours["content"])
    edited["cells"] = [*ours["content"]["cells"], nbformat.v4.new_code_cell("y = 3")]
    servers.ours.put(path, {"type": "notebook", "content": edited})
    servers.plain.put(path, {"type": "notebook", "content": edited})
    assert (servers.project / path).read_bytes() == (servers.plain_project / path).read_bytes()
    assert (INJECTED_TAG in (servers.project / path).read_text()) == path.endswith(".ipynb")


def test_the_profile_comes_from_the_trait_or_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = copy_example(tmp_path)
    path = f"{NOTEBOOKS}/clean.py"
    monkeypatch.setenv("NBRULES_PROFILE", "dev")
    from_env = NbrulesContentsManager(root_dir=str(project))
    assert "results/dev/data/clean.parquet" in _injected(from_env, path)
    from_trait = NbrulesContentsManager(root_dir=str(project), profile="production")
    assert "results/production/data/clean.parquet" in _injected(from_trait, path)


def test_a_project_error_opens_the_notebook_with_the_error_in_the_cell(tmp_path: Path) -> None:
    project = copy_example(tmp_path)
    clean = project / NOTEBOOKS / "clean.py"
    clean.write_text(clean.read_text().replace('["get-data"]', '["get_data"]'))
    manager = NbrulesContentsManager(root_dir=str(project))
    code = _injected(manager, f"{NOTEBOOKS}/clean.py")
    assert code.splitlines()[0] == (
        "# nbrules could not compute the injected cell for profile 'sample':"
    )
    assert "clean.py:14: unknown upstream 'get_data'" in code
    assert "# hint: did you mean 'get-data'?" in code


def _injected(manager: NbrulesContentsManager, path: str) -> str:
    model = asyncio.run(manager.get(path))
    (cell,) = [c for c in model["content"].cells if INJECTED_TAG in c.metadata.get("tags", [])]
    return str(cell.source)


@pytest.mark.slow
def test_the_documented_enable_command_turns_the_extension_on(tmp_path: Path) -> None:
    """``jupyter server extension enable nbrules`` in a fresh environment, then a server."""
    env_dir = tmp_path / "env"
    python = throwaway_venv(env_dir)
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "--no-deps", "--no-build-isolation", "-q",
         "-e", str(REPO)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert install.returncode == 0, install.stderr
    switch = env_dir / "etc/jupyter/jupyter_server_config.d/nbrules.json"
    assert json.loads(switch.read_text()) == {
        "ServerApp": {"jpserver_extensions": {"nbrules": False}}
    }
    home = tmp_path / "home"
    env = isolated_env(home)
    enable = subprocess.run(
        [str(python), "-m", "jupyter_server", "extension", "enable", "nbrules"],
        env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert enable.returncode == 0, enable.stdout + enable.stderr
    assert json.loads(switch.read_text()) == {
        "ServerApp": {"jpserver_extensions": {"nbrules": True}}
    }
    project = copy_example(tmp_path / "project")
    with jupyter_server(project, home, env=env, executable=str(python)) as server:
        tags = cells_by_tag(server.get(f"{NOTEBOOKS}/clean.py"))
    assert [INJECTED_TAG] in tags

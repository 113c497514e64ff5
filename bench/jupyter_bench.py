"""Opening a notebook through Jupyter, with and without the nbrules extension.

A generated project of 1,000 notebooks (1 → 998 → 1, ``generate.py``, with a
``profiles/sample`` profile) is served by two real ``jupyter server`` processes on
loopback: one with jupytext's contents manager alone, one with the nbrules
extension enabled. Each ``GET /api/contents/<notebook>`` (what JupyterLab sends to
open a notebook) is timed from this process; requests alternate between the two
servers. The first open of each server is reported apart (it imports nbrules'
modules in the server).

- ``mid-500``: a typical notebook (one upstream);
- ``sink``: the worst case, a notebook with 998 upstreams (its injected cell names
  every upstream's products, so every upstream declaration is read).

Usage: ``python bench/jupyter_bench.py [--notebooks 1000] [--repeat 20]``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import requests
from benchlib import REPO, median, progress, table
from generate import generate

sys.path.insert(0, str(REPO / "tests"))  # the loopback server helper the tests use
from jupyterlib import Server, isolated_env, jupyter_server

PROFILE = "configfile: data.yaml\n"
DATA = "results: results/sample\nparams:\n  size: 100\n"
JUPYTEXT_ONLY = "--ServerApp.contents_manager_class=jupytext.AsyncTextFileContentsManager"


def make_project(root: Path, notebooks: int) -> list[str]:
    names = generate(root, notebooks - 2)
    (root / "profiles/sample").mkdir(parents=True)
    (root / "profiles/sample/config.yaml").write_text(PROFILE)
    (root / "profiles/sample/data.yaml").write_text(DATA)
    return names


def open_seconds(server: Server, path: str) -> float:
    start = time.perf_counter()
    response = requests.get(
        f"{server.url}/api/contents/{path}",
        params={"content": "1", "type": "notebook"},
        headers=server.headers,
        timeout=120,
    )
    elapsed = time.perf_counter() - start
    response.raise_for_status()
    return elapsed


def injected(server: Server, path: str) -> bool:
    model = requests.get(
        f"{server.url}/api/contents/{path}", params={"content": 1}, headers=server.headers,
        timeout=120,
    ).json()  # fmt: skip
    return any(
        "injected-parameters" in c["metadata"].get("tags", []) for c in model["content"]["cells"]
    )


def measure(plain: Server, ours: Server, path: str, repeat: int) -> tuple[float, float]:
    times: dict[str, list[float]] = {"plain": [], "ours": []}
    for _ in range(repeat):
        times["plain"].append(open_seconds(plain, path))
        times["ours"].append(open_seconds(ours, path))
    return median(times["plain"]), median(times["ours"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notebooks", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="nbrules-jupyter-bench-") as tmp:
        root = Path(tmp)
        project = root / "project"
        make_project(project, args.notebooks)
        progress(f"generated {args.notebooks} notebooks")
        home = root / "ours"
        env = isolated_env(home)
        config = {"ServerApp": {"jpserver_extensions": {"nbrules": True}}}
        (home / "config" / "jupyter_server_config.json").write_text(json.dumps(config))
        with (
            jupyter_server(project, root / "plain", JUPYTEXT_ONLY) as plain,
            jupyter_server(project, home, env=env) as ours,
        ):
            first = (
                open_seconds(plain, "notebooks/mid-500.py"),
                open_seconds(ours, "notebooks/mid-500.py"),
            )
            assert injected(ours, "notebooks/sink.py") and not injected(plain, "notebooks/sink.py")
            rows = [("mid-500, first open", *first)]
            for name in ("mid-500", "sink"):
                progress(f"timing {name}")
                rows.append((name, *measure(plain, ours, f"notebooks/{name}.py", args.repeat)))
    print(f"Opening one notebook of {args.notebooks} (GET /api/contents, median of "
          f"{args.repeat}; jupyter_server on loopback):\n")  # fmt: skip
    lines = [
        [name, _ms(plain), _ms(ours), f"{(ours - plain) * 1000:+.1f} ms"]
        for name, plain, ours in rows
    ]
    print(table(["notebook", "jupytext alone", "with nbrules", "extension adds"], lines))
    return 0


def _ms(value: float) -> str:
    return f"{value * 1000:.1f} ms"


if __name__ == "__main__":
    raise SystemExit(main())

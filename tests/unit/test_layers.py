"""The architecture holds: import-linter's contracts, and a Snakefile parse that
imports no engine (planning never pays for nbclient, papermill or IPython)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from conftest import copy_project

ROOT = Path(__file__).resolve().parents[2]

PARSE_ONLY = """
import json, sys
from snakemake.cli import main
try:
    main(["-n", "--cores", "1", "--configfile", "config.yaml", "--quiet"])
except SystemExit as done:
    code = done.code
heavy = ("nbclient", "papermill", "IPython", "nbrules.run", "nbrules.engines")
loaded = sorted(m for m in sys.modules if m.startswith(heavy))
print(json.dumps({"code": code, "loaded": loaded}))
"""


def test_import_contracts_hold() -> None:
    lint = shutil.which("lint-imports")
    assert lint, "import-linter is a test dependency: pip install -e '.[test]'"
    done = subprocess.run([lint, "--config", str(ROOT / "pyproject.toml")], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "0 broken" in done.stdout


def test_parsing_the_snakefile_imports_no_engine(tmp_path: Path) -> None:
    project = copy_project("chain", tmp_path)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), *sys.path])}
    done = subprocess.run([sys.executable, "-c", PARSE_ONLY], cwd=project, env=env,
                          capture_output=True, text=True, timeout=300)
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["code"] == 0, done.stderr[-3000:]
    assert report["loaded"] == []
    assert list((project / ".nbrules" / "jobs").glob("*.json"))  # the job specs were written

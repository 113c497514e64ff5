"""What one job costs: a miss (the notebook executes) and a hit (it restores), per engine,
against the plain-``python`` floor, optionally side by side with another git revision.

The job is the example's first notebook (``get-data``, sample profile), run as Snakemake
runs it: ``python -m nbrules run SPEC`` with an empty cache (miss), then again (hit).
``--against REV`` also runs the same jobs with the ``nbrules`` package of revision REV
(``git archive`` into a temp folder, first on ``PYTHONPATH``), in turns with this
checkout's, so both see the same machine load.

Usage: ``python bench/job_cost.py [--repeat 5] [--against REV] [--engines kernel,inprocess]``
— prints a Markdown table (medians, and the range).
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

from overhead import REPO, plain_script


def _timed(command: list[str], cwd: Path, env: dict[str, str], expect: str = "") -> float:
    start = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0 or expect not in done.stderr:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr}")
    return seconds


def _checkout(rev: str, into: Path) -> Path:
    archive = subprocess.run(["git", "-C", str(REPO), "archive", rev, "nbrules"],
                             capture_output=True, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into


def _first_spec(work: Path) -> tuple[str, str, list[str]]:
    """The spec file of the example's first notebook, its JSON, and its import path."""
    import yaml

    from nbrules.common.yaml import merge
    from nbrules.plan.jobspec import write_spec_file
    from nbrules.snakemake.rules import rules_from_config

    config = merge(yaml.safe_load((work / "workflow/config.yaml").read_text()),
                   yaml.safe_load((work / "profiles/sample/data.yaml").read_text()))
    job = rules_from_config(config, work / "workflow")[1][0].job
    for product in job.products.values():  # the floor script does not create folders
        (work / product).parent.mkdir(parents=True, exist_ok=True)
    return write_spec_file(job, work), job.to_json(), list(job.pythonpath)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--against", help="a git revision to compare with")
    parser.add_argument("--engines", default="kernel,inprocess")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="nbrules-job-cost-"))
    for folder in ("workflow", "profiles"):
        shutil.copytree(REPO / folder, work / folder)
    os.chdir(work)
    spec_file, spec_json, pythonpath = _first_spec(work)
    script = work / "plain.py"
    script.write_text(plain_script(spec_json, work))
    floor_env = {**os.environ, "PYTHONPATH": os.pathsep.join(str(work / p) for p in pythonpath)}
    versions = {"this checkout": ""}
    if args.against:
        versions[args.against] = str(_checkout(args.against, work / "against"))
    times: dict[str, list[float]] = {}
    job = [sys.executable, "-m", "nbrules", "run", spec_file]
    for _ in range(args.repeat):
        times.setdefault("plain python (floor)", []).append(
            _timed([sys.executable, str(script)], work, floor_env))
        for version, path in versions.items():
            for engine in args.engines.split(","):
                cache = work / "cache"
                shutil.rmtree(cache, ignore_errors=True)
                env = {**os.environ, "NBRULES_CACHE": str(cache), "NBRULES_ENGINE": engine}
                if path:
                    env["PYTHONPATH"] = path
                for kind in ("miss", "hit"):
                    row = f"{version}, {engine}, cache {kind}"
                    times.setdefault(row, []).append(_timed(job, work, env, f"cache {kind}"))
    floor = statistics.median(times["plain python (floor)"])
    print(f"`{' '.join(job[1:4])} <get-data spec>`, medians of {args.repeat} (range), "
          f"{os.cpu_count()} cores\n")
    print("| job | wall | range | over the floor |\n|---|---:|---:|---:|")
    for row, values in times.items():
        median = statistics.median(values)
        over = f"{median - floor:+.2f} s" if "miss" in row else ""
        print(f"| {row} | {median:.2f} s | {min(values):.2f}–{max(values):.2f} s | {over} |")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

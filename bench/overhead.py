"""Per-notebook overhead of nbrules against the plain-``python`` floor.

For every notebook of the example pipeline (sample profile) this runs, in the same
session and on the same inputs:

- **python**: the notebook's code cells (with the same injected parameters) as one
  plain ``python`` script — no kernel, no notebook written: the floor;
- **nbrules job**, once per engine: ``python -m nbrules run <spec>``, exactly what a
  Snakemake job runs (with ``kernel``: kernel start, execution through papermill; with
  ``inprocess``: the cells in the job's own process; the executed notebook and its
  HTML rendering written), with an empty cache so the notebook really executes.

Also the wall time of the whole sample build with ``snakemake --profile
profiles/sample`` (cold: no results, empty cache) and of the no-op rebuild.

Usage: ``python bench/overhead.py [--repeat 3]`` — prints a Markdown table.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

from benchlib import timed_run

REPO = Path(__file__).resolve().parents[1]
ENGINES = ("kernel", "inprocess")


def timed(cmd: list[str], cwd: Path, env: dict[str, str]) -> float:
    return timed_run(cmd, cwd, env)[1]


MATPLOTLIB_AGG = "import matplotlib\nmatplotlib.use('Agg')\n"


def plain_script(spec_json: str, cwd: Path, preamble: str = MATPLOTLIB_AGG) -> str:
    from nbrules.common.notebooks import python_source, read_notebook
    from nbrules.plan.inject import inject, injected_source
    from nbrules.plan.jobspec import JobSpec

    spec = JobSpec.from_json(spec_json)
    source = cwd / spec.source
    nb = inject(read_notebook(source), injected_source(spec, cwd), source)
    cells = [python_source(c.source) for c in nb.cells if c.cell_type == "code"]
    return preamble + "\n\n".join(cells) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="nbrules-bench-"))
    for folder in ("workflow", "profiles"):
        shutil.copytree(REPO / folder, work / folder)
    env = {**os.environ, "NBRULES_CACHE": str(work / "cache-build")}
    snakemake = [sys.executable, "-m", "snakemake", "--profile", "profiles/sample"]
    cold = timed(snakemake, work, env)
    noop = timed(snakemake, work, env)

    sys.path.insert(0, str(REPO))
    os.chdir(work)
    import yaml

    from nbrules.common.yaml import merge
    from nbrules.plan.jobspec import write_spec_file
    from nbrules.snakemake.rules import rules_from_config

    config = yaml.safe_load((work / "workflow/config.yaml").read_text())
    sample = yaml.safe_load((work / "profiles/sample/data.yaml").read_text())
    config = merge(config, sample)  # as Snakemake merges config files
    specs = rules_from_config(config, work / "workflow")[1]
    kernel_env = {**env, "PYTHONPATH": os.pathsep.join(
        str(work / p) for p in specs[0].job.pythonpath)}

    rows: list[tuple[str, float, float, float]] = []
    for rule in specs:
        spec_json = rule.job.to_json()  # the whole spec, parameter values included
        script = work / f"plain-{rule.task}.py"
        script.write_text(plain_script(spec_json, work))
        plain = [timed([sys.executable, str(script)], work, kernel_env)
                 for _ in range(args.repeat)]
        jobs = []
        for engine in ENGINES:
            job = []
            for i in range(args.repeat):
                job_env = {**env, "NBRULES_CACHE": str(work / f"cache-{rule.task}-{engine}-{i}"),
                           "NBRULES_ENGINE": engine}
                spec_file = write_spec_file(rule.job, work)
                job.append(timed([sys.executable, "-m", "nbrules", "run", spec_file], work,
                                 job_env))
            jobs.append(statistics.median(job))
        rows.append((rule.task, statistics.median(plain), jobs[0], jobs[1]))

    print(f"Sample build (snakemake --profile profiles/sample, 2 cores, its engine): "
          f"cold {cold:.1f} s, no-op {noop:.1f} s\n")
    print("| notebook | plain python | job, kernel | job, inprocess | overhead kernel | "
          "overhead inprocess |")
    print("|---|---:|---:|---:|---:|---:|")
    total = [sum(r[1] for r in rows), sum(r[2] for r in rows), sum(r[3] for r in rows)]
    summary: tuple[str, float, float, float] = ("**all**", total[0], total[1], total[2])
    for name, plain_s, kernel_s, inproc_s in [*rows, summary]:
        print(f"| {name} | {plain_s:.2f} s | {kernel_s:.2f} s | {inproc_s:.2f} s | "
              f"{kernel_s - plain_s:+.2f} s ({kernel_s / plain_s:.2f}×) | "
              f"{inproc_s - plain_s:+.2f} s ({inproc_s / plain_s:.2f}×) |")
    print(f"\nmedian of {args.repeat} runs each; overhead per notebook: kernel "
          f"{(total[1] - total[0]) / len(rows):.2f} s, inprocess "
          f"{(total[2] - total[0]) / len(rows):.2f} s")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

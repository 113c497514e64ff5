"""Parse-time scaling: what nbrules adds to ``snakemake -n`` for 20 … 1000 notebooks.

For each size, a generated 1 → N-2 → 1 pipeline of tiny notebooks (``generate.py``):

- ``snakemake -n`` with nbrules, first parse (empty normalisation memo) and second
  parse (the memo in ``$NBRULES_CACHE/normalized`` answers every code digest);
- ``snakemake -n`` on a static Snakefile with the same rules (``baseline.py``):
  Snakemake's own cost for that many rules and jobs;
- ``nbrules.snakemake.rules.rules_from_config`` alone, timed inside a fresh interpreter (memo cold,
  memo warm, and a second call in the same process), plus, for the largest size,
  where its time goes.

``python bench/parse_bench.py specs|breakdown PROJECT`` is the in-process timer
(run in a subprocess so every measurement starts from a fresh interpreter).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchlib import environment, median, progress, seconds, snakemake, table
from generate import generate

HERE = Path(__file__).resolve()
STATIC_NOTE = (
    "*nbrules adds* compares with a static Snakefile holding the same rules as literals. "
    "Snakemake compiles that long file more slowly than nbrules' loop over one `rule:` "
    "block (at 1000 notebooks the difference is smaller than `rule_specs` alone), so it "
    "understates nbrules' own parse-time work: that is the `rule_specs` columns, plus "
    "importing nbrules."
)


def _specs(project: Path, plain: str | None) -> dict[str, float]:
    start = time.perf_counter()
    from nbrules.snakemake.rules import rules_from_config

    imported = time.perf_counter()
    specs = rules_from_config({}, project)[1]
    first = time.perf_counter()
    rules_from_config({}, project)
    again = time.perf_counter()
    if plain:
        from baseline import write_snakefile

        write_snakefile(project / plain, {specs[0].job.results: specs})
    return {"import": imported - start, "first": first - imported, "again": again - first}


def _breakdown(project: Path) -> dict[str, float]:
    from nbrules.cache.code import DirectoryMemo, code_summary
    from nbrules.cache.store import store_root
    from nbrules.plan import graph
    from nbrules.plan.declarations import discover
    from nbrules.plan.jobspec import notebook_reads
    from nbrules.plan.settings import parse_settings

    s = parse_settings({}, project, project)
    clock = [time.perf_counter()]

    def lap() -> float:
        clock.append(time.perf_counter())
        return clock[-1] - clock[-2]

    tasks = discover(Path(s.notebooks))
    times = {"discover (one jupytext parse per notebook)": lap()}
    graph.build(tasks)
    times["graph.build"] = lap()
    by_name = {task.name: task for task in tasks}
    for task in tasks:
        notebook_reads(task, by_name)
    times["notebook_reads (upstream[…]['nb'] scan)"] = lap()
    memo = DirectoryMemo(store_root(s.cache.root, project) / "normalized")
    search = [project / p for p in [s.notebooks, *s.pythonpath]]
    for task in tasks:
        code_summary(task.source, search, "3", memo)
    times["code digests (memo warm)"] = lap()
    return times


def _helper(mode: str, project: Path, cache: Path, plain: str | None = None) -> Any:
    command = [sys.executable, str(HERE), mode, str(project)]
    if plain:
        command += ["--plain", plain]
    done = subprocess.run(command, cwd=project, env=environment(NBRULES_CACHE=str(cache)),
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def _dry_run(project: Path, cache: Path, extra: Sequence[str] = ()) -> float:
    args = ["-n", "--cores", "2", *extra]
    return snakemake(project, args, environment(NBRULES_CACHE=str(cache))).seconds


def measure(project: Path, notebooks: int, repeat: int) -> tuple[list[str], dict[str, float]]:
    generate(project, notebooks - 2)
    first, second, plain = [], [], []
    for index in range(repeat):
        cache = project.parent / f"cache-{notebooks}-{index}"
        first.append(_dry_run(project, cache))
        second.append(_dry_run(project, cache))
    progress(f"parse: {notebooks} notebooks, rule_specs in-process")
    memo = project.parent / f"memo-{notebooks}"
    cold = _helper("specs", project, memo, plain="Snakefile.plain")
    warm = _helper("specs", project, memo)
    breakdown = _helper("breakdown", project, memo)
    for _ in range(repeat):
        plain.append(_dry_run(project, memo, ["--snakefile", "Snakefile.plain"]))
    f, s, p = median(first), median(second), median(plain)
    row = [str(notebooks), seconds(f), seconds(s), seconds(p), f"{f - p:+.2f} / {s - p:+.2f}",
           seconds(cold["first"]), seconds(warm["first"]), seconds(warm["again"]),
           f"{1000 * warm['first'] / notebooks:.1f}"]
    return row, breakdown


def parse_section(sizes: Sequence[int], repeat: int) -> str:
    rows: list[list[str]] = []
    breakdown: dict[str, float] = {}
    work = Path(tempfile.mkdtemp(prefix="nbrules-parse-bench-"))
    try:
        for notebooks in sizes:
            progress(f"parse: {notebooks} notebooks, snakemake -n")
            row, breakdown = measure(work / f"gen-{notebooks}" / "project", notebooks, repeat)
            rows.append(row)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    headers = ["notebooks", "`snakemake -n`, nbrules: first parse (s)", "second parse (s)",
               "static Snakefile, same rules (s)", "nbrules adds: first / second (s)",
               "`rule_specs`: memo cold (s)", "memo warm (s)", "again, same process (s)",
               "ms per notebook (memo warm)"]
    parts = "; ".join(f"{name}: {value:.2f} s" for name, value in breakdown.items())
    return (f"Medians of {repeat} run(s). Each `snakemake -n` is a fresh process (it "
            "includes Python and Snakemake start-up).\n\n" + table(headers, rows)
            + f"\n\nWhere `rule_specs` spends its time at {sizes[-1]} notebooks (memo warm, "
            f"fresh process): {parts}.\n\n{STATIC_NOTE}\n")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("mode", choices=("specs", "breakdown"))
    parser.add_argument("project", type=Path)
    parser.add_argument("--plain", help="also write this static Snakefile (in PROJECT)")
    args = parser.parse_args(argv)
    project = args.project.resolve()
    result = _specs(project, args.plain) if args.mode == "specs" else _breakdown(project)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())

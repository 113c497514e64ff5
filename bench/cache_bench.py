"""The content cache benchmark of issue 4: rebuilds, hashing, parse time.

Prints Markdown (paste-ready for the README) to stdout, progress to stderr:

1. **Rebuild scenarios** on the example pipeline (sample profile, in a temp copy)
   and on a generated 1 → 18 → 1 pipeline of tiny notebooks: kernels started, jobs
   Snakemake ran and wall time per step, against plain Snakemake on the same DAG
   (``baseline.py``) and the plain-python floor (``rebuild_bench.py``);
2. **Hashing**: xxh3-128 on a 1 GiB file, cold and warm, against reading only,
   sha256 and md5; the stat-cache hit path (``hash_bench.py``);
3. **Parse time**: ``snakemake -n`` for 20, 200 and 1000 notebooks (``parse_bench.py``).

Usage::

    python bench/cache_bench.py            # 3 sequences per pipeline (≈ 35 min on 2 cores)
    python bench/cache_bench.py --quick    # 1 sequence, fewer repeats (≈ 15 min)
    python bench/cache_bench.py --only hashing parse

Ratios compare numbers measured in the same run. Machines are shared and noisy:
each wall time is a median (of whole step sequences, and of in-place repeats for
steps that change nothing, like the no-op rebuild).
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import REPO, progress, slurm_probe_seconds
from hash_bench import hashing_section
from parse_bench import parse_section
from pipelines import EXAMPLE, generated_pipeline
from rebuild_bench import rebuild_section

SECTIONS = ("rebuild", "hashing", "parse")
GENERATED_WIDTH = 18


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _memory() -> str:
    try:
        pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError):
        return "unknown"
    return f"{pages / (1 << 30):.0f} GiB"


def _revision() -> str:
    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True,
                              check=False)
        return done.stdout.strip()

    dirty = " + uncommitted changes" if git("status", "--porcelain") else ""
    return f"{git('rev-parse', '--short', 'HEAD') or 'unknown'}{dirty}"


def header(args: argparse.Namespace) -> str:
    versions = ", ".join(f"{name} {metadata.version(name)}"
                         for name in ("snakemake", "nbclient", "jupytext", "xxhash"))
    mode = "--quick" if args.quick else "default"
    probe = slurm_probe_seconds()
    slurm = "" if probe is None else (
        f"- Snakemake start-up: `snakemake --version` takes {probe[0]:.1f} s here, "
        f"{probe[1]:.1f} s when `scontrol` fails at once: snakemake-executor-plugin-slurm "
        "runs `scontrol show config` at every Snakemake start, and waits while no SLURM "
        "controller answers. Every build below runs with such a failing `scontrol` first "
        "on `PATH` (both variants alike), so the numbers do not depend on whether a "
        "controller happens to be up.\n")
    return (
        "# nbrules cache benchmark (issue 4)\n\n"
        f"- date: {time.strftime('%Y-%m-%d %H:%M %Z')}\n"
        f"- machine: {os.cpu_count()} cores ({_cpu()}), {_memory()} RAM, "
        f"{platform.system()} {platform.release()}; shared, so expect noise\n"
        f"- Python {platform.python_version()}, {versions}\n"
        f"- nbrules at {_revision()}\n"
        f"- command: `python bench/cache_bench.py {' '.join(sys.argv[1:])}` ({mode}: "
        f"{args.sequences} step sequence(s) per pipeline, {args.repeat} in-place repeats of "
        f"cheap measurements, {max(args.repeat, 7)} of hashing ones, {args.parse_repeat} per "
        "parse measurement)\n"
        + slurm
    )


REBUILD_NOTES = """\
Columns: **kernels** = notebooks that really executed (nbrules: `miss` events in the
cache's events log of that build, cross-checked with the `nbrules: <task>: cache miss`
line each job prints); **jobs** = jobs Snakemake ran (target rule not counted); a
✓ means nbrules started exactly the kernels issue 4 expects. **Plain Snakemake** is the
fairest baseline we found: the same DAG and the same executor (nbrules' own rule specs
written as a static Snakefile whose jobs run `nbrules.run.execute.run`: same injected
parameters, same kernel, same executed notebook), with the notebook's `.py` as an
`input:` (Snakemake's mtime/checksum semantics, as with its `notebook:` directive) and no
content cache. **Python floor** = the code of the notebooks that must run (issue 4's
expected set) as plain `python` scripts, one after the other: no kernel, no Snakemake.
Wall times are medians; every build uses `--cores 2`. Snakemake schedules every job
downstream of a job it reruns (it has no early cutoff), so nbrules' "jobs" include jobs
that only restore their products from the cache; what one costs is noted under each table.
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="1 step sequence per pipeline and fewer repeats (≈ 15 min)")
    parser.add_argument("--only", nargs="+", choices=SECTIONS, default=list(SECTIONS))
    parser.add_argument("--sizes", type=int, nargs="+", default=[20, 200, 1000],
                        help="notebook counts for the parse-time section")
    parser.add_argument("--hash-mib", type=int, default=1024, help="size of the hashed file")
    args = parser.parse_args()
    args.sequences, args.repeat, args.parse_repeat = (1, 3, 1) if args.quick else (3, 5, 3)
    start = time.perf_counter()
    print(header(args))
    if "rebuild" in args.only:
        print("## 1. Rebuild scenarios\n")
        for pipeline in (EXAMPLE, generated_pipeline(GENERATED_WIDTH)):
            print(rebuild_section(pipeline, args.sequences, args.repeat), flush=True)
        print(REBUILD_NOTES)
    if "hashing" in args.only:
        print("## 2. Hashing\n")
        print(hashing_section(max(args.repeat, 7), args.hash_mib << 20), flush=True)
    if "parse" in args.only:
        print("## 3. Parse time\n")
        print(parse_section(args.sizes, args.parse_repeat), flush=True)
    minutes = (time.perf_counter() - start) / 60
    print(f"*Benchmark run time: {minutes:.1f} min.*")
    progress(f"done in {minutes:.1f} min")


if __name__ == "__main__":
    main()

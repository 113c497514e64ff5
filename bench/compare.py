"""One command, one machine, one run: nbrules (each engine) against the plain-python
floor, plain Snakemake and Ploomber 0.23.3 on the same pipeline.

    python bench/compare.py            # 20 notebooks (1 → 18 → 1), median of 2 passes
    python bench/compare.py --quick    # 1 pass
    python bench/compare.py --width 48 --passes 3

The pipeline is a generated Ploomber ``pipeline.yaml`` of tiny notebooks (``source``
→ 18 ``mid-*`` → ``sink``, the source's ``size`` from ``env.yaml``), built unchanged by
every tool from its own copy of the project:

- **floor**: each notebook's code as a plain ``python`` script (parameters prepended),
  one after the other: the work that must be done, without notebooks or tools;
- **plain Snakemake**: the same DAG as a static Snakefile whose rules run those
  scripts (mtime-based, no notebooks, no cache): Snakemake's own cost;
- **nbrules, kernel / in-process**: ``nbrules build --cores 1 --engine …``;
- **Ploomber serial / parallel / ploomber-engine**: ``ploomber build`` of the same
  spec, with ``executor: parallel``, or every task's ``executor: ploomber-engine``.
  Ploomber is not a dependency of nbrules: it is installed in its own virtualenv
  (``--ploomber-venv``, created with pip on first use).

Steps, each applied to every copy: full build, no-op, comment edit of ``source``,
identical-output edit (a local renamed), real edit (its data change), revert of that
edit, and the switch back to the default env after a build with ``--env--size 500``
(the *profile switch*). Each row gives wall time, the ratio to the floor's full build
(or the no-op), and the notebooks executed (counted by each notebook appending its
name to ``runs.txt``; restores append nothing).
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

PLOOMBER = ("ploomber==0.23.3", "ploomber-engine", "ipykernel")
ROOT = Path(__file__).resolve().parents[1]

SOURCE = '''# %% [markdown]
# The source of the pipeline.

# %% tags=["parameters"]
upstream = None
product = None
size = 1000

# %%
with open("runs.txt", "a") as runs:
    runs.write("source\\n")
values = list(range(size))

# %%
with open(product["data"], "w") as handle:
    handle.write("\\n".join(map(str, values)))
'''
MIDDLE = '''# %% tags=["parameters"]
upstream = ["source"]
product = None
factor = {factor}

# %%
with open("runs.txt", "a") as runs:
    runs.write("{name}\\n")
with open(upstream["source"]["data"]) as handle:
    numbers = [int(v) * factor for v in handle.read().split()]

# %%
with open(product["data"], "w") as handle:
    handle.write(str(sum(numbers)))
'''
SINK = '''# %% tags=["parameters"]
upstream = {upstream!r}
product = None

# %%
with open("runs.txt", "a") as runs:
    runs.write("sink\\n")
total = sum(int(open(upstream[name]["data"]).read()) for name in upstream)
with open(product["data"], "w") as handle:
    handle.write(str(total))
'''
#: (label, edit of notebooks/source.py as (old, new)); ``None``: no edit.
EDITS = {
    "comment": ("# %% [markdown]\n# The source", "# %% [markdown]\n# The first source"),
    "identical": ("values = list(range(size))", "items = list(range(size))\nvalues = items"),
    "real": ("values = list(range(size))", "values = list(range(size + 1))"),
}


def names(width: int) -> list[str]:
    return ["source", *(f"mid-{i:03d}" for i in range(width)), "sink"]


def generate(project: Path, width: int, executor: str | None = None) -> None:
    """The Ploomber project: notebooks, pipeline.yaml, env.yaml."""
    books = project / "notebooks"
    books.mkdir(parents=True)
    (books / "source.py").write_text(SOURCE)
    mids = names(width)[1:-1]
    for index, name in enumerate(mids):
        (books / f"{name}.py").write_text(MIDDLE.format(name=name, factor=index + 1))
    (books / "sink.py").write_text(SINK.format(upstream=mids))
    lines = ["executor: parallel"] if executor == "parallel" else []
    lines.append("tasks:")
    for name in names(width):
        lines += [
            f"  - source: notebooks/{name}.py",
            f"    product: {{nb: out/{name}.ipynb, data: out/{name}.txt}}",
        ]
        if name == "source":
            lines.append("    params: {size: '{{size}}'}")
        if executor == "ploomber-engine":
            lines.append("    executor: ploomber-engine")
    (project / "pipeline.yaml").write_text("\n".join(lines) + "\n")
    (project / "env.yaml").write_text("size: 1000\n")


def floor_scripts(project: Path, width: int, size: int) -> list[Path]:
    """Each notebook as a plain script, its injected parameters after its parameters
    cell (as the pipeline injects them), in DAG order."""
    scripts = []
    for name in names(width):
        script = project / "scripts" / f"{name}.py"
        script.parent.mkdir(exist_ok=True)
        text = (project / "notebooks" / f"{name}.py").read_text()
        script.write_text(script_text(text, name, width, size))
        scripts.append(script)
    return scripts


def script_text(notebook: str, name: str, width: int, size: int) -> str:
    mids = names(width)[1:-1]
    upstream: object = None
    if name == "sink":
        upstream = {m: {"data": f"out/{m}.txt"} for m in mids}
    elif name != "source":
        upstream = {"source": {"data": "out/source.txt"}}
    head = f"upstream = {upstream!r}\nproduct = {{'data': 'out/{name}.txt'}}\n"
    if name == "source":
        head += f"size = {size}\n"
    params, rest = notebook.split("# %%\n", 1)  # the parameters cell, then the code
    return f"{params}{head}# %%\n{rest}"


def plain_snakefile(project: Path, width: int) -> None:
    """The same DAG for plain Snakemake: one rule per notebook, running its script; the
    notebook is an input too (Snakemake's own semantics, as with its ``notebook:``)."""
    rules = ["rule all:\n    input: 'out/sink.txt'\n"]
    for name in names(width):
        inputs = [] if name == "source" else (
            ["out/source.txt"] if name != "sink" else [f"out/{m}.txt" for m in names(width)[1:-1]])
        rules.append(
            f"rule {name.replace('-', '_')}:\n"
            f"    input: {[f'notebooks/{name}.py', f'scripts/{name}.py', *inputs]!r}\n"
            f"    output: 'out/{name}.txt'\n"
            f"    shell: 'python scripts/{name}.py'\n")
    (project / "Snakefile").write_text("\n".join(rules))


@dataclass
class Tool:
    label: str
    command: Callable[[Path, Sequence[str]], list[str]]
    setup: Callable[[Path, int], None]
    env: dict[str, str]


def env_for(*, venv: Path | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NBRULES_", "PLOOMBER"))}
    env["PYTHONUNBUFFERED"] = "1"
    if venv is not None:
        env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env['PATH']}"
        env["VIRTUAL_ENV"] = str(venv)
    return env


def ensure_ploomber(venv: Path) -> Path:
    """Ploomber 0.23.3 with ploomber-engine and ipykernel in its own virtualenv."""
    ploomber = venv / "bin" / "ploomber"
    if not ploomber.exists():
        print(f"# installing {' '.join(PLOOMBER)} into {venv} …", file=sys.stderr, flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q", *PLOOMBER], check=True)
    return ploomber


def run(tool: Tool, project: Path, extra: Sequence[str]) -> tuple[float, int]:
    """Build once; wall seconds and notebooks executed (new lines in runs.txt)."""
    runs = project / "runs.txt"
    before = len(runs.read_text().splitlines()) if runs.exists() else 0
    start = time.perf_counter()
    done = subprocess.run(tool.command(project, extra), cwd=project, env=tool.env,
                          capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{tool.label} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    after = len(runs.read_text().splitlines()) if runs.exists() else 0
    return wall, after - before


def floor_run(project: Path, width: int, size: int) -> float:
    """The floor: every script with plain python, one after the other."""
    (project / "out").mkdir(exist_ok=True)
    start = time.perf_counter()
    for script in floor_scripts(project, width, size):
        subprocess.run([sys.executable, str(script)], cwd=project, check=True,
                       env=env_for())
    return time.perf_counter() - start


def edit(project: Path, old: str, new: str) -> None:
    path = project / "notebooks" / "source.py"
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))


STEPS = ("full build", "no-op", "comment edit", "identical-output edit", "real edit",
         "revert", "profile switch back")


def scenario(tool: Tool, project: Path, width: int) -> dict[str, tuple[float, int]]:
    """Every step on a fresh copy: {step: (wall, executed)}."""
    tool.setup(project, width)
    original = (project / "notebooks" / "source.py").read_text()
    out = {"full build": run(tool, project, []), "no-op": run(tool, project, [])}
    edit(project, *EDITS["comment"])
    out["comment edit"] = run(tool, project, [])
    edit(project, *EDITS["identical"])
    out["identical-output edit"] = run(tool, project, [])
    (project / "notebooks" / "source.py").write_text(original)
    run(tool, project, [])  # back to the original before the real edit (not reported)
    edit(project, *EDITS["real"])
    out["real edit"] = run(tool, project, [])
    (project / "notebooks" / "source.py").write_text(original)
    out["revert"] = run(tool, project, [])
    run(tool, project, ["--env--size", "500"])  # the other configuration
    out["profile switch back"] = run(tool, project, [])
    return out


def plain_setup(project: Path, width: int) -> None:
    generate(project, width)
    floor_scripts(project, width, 1000)
    plain_snakefile(project, width)


def plain_command(project: Path, extra: Sequence[str]) -> list[str]:
    """Scripts regenerated from the notebooks (only changed ones rewritten), then Snakemake."""
    size = int(extra[-1]) if extra else 1000  # --env--size N
    width = len(list((project / "notebooks").glob("mid-*.py")))
    for name in names(width):
        script = project / "scripts" / f"{name}.py"
        text = script_text((project / "notebooks" / f"{name}.py").read_text(), name, width, size)
        if text != script.read_text():
            script.write_text(text)
    return ["snakemake", "--cores", "1", "--quiet", "all"]


def tools(width: int, ploomber: Path | None) -> list[Tool]:
    nbrules = [sys.executable, "-m", "nbrules", "build", "--cores", "1"]
    found = [
        Tool("plain Snakemake", plain_command, plain_setup, env_for()),
        Tool("nbrules, kernel", lambda p, x: [*nbrules, "--engine", "kernel", *x],
             generate, env_for()),
        Tool("nbrules, in-process", lambda p, x: [*nbrules, "--engine", "inprocess", *x],
             generate, env_for()),
    ]
    if ploomber is not None:
        venv = ploomber.parents[1]
        command = [str(ploomber), "build"]
        found += [
            Tool("Ploomber, serial", lambda p, x: [*command, *x], generate, env_for(venv=venv)),
            Tool("Ploomber, parallel", lambda p, x: [*command, *x],
                 lambda p, w: generate(p, w, "parallel"), env_for(venv=venv)),
            Tool("Ploomber, ploomber-engine", lambda p, x: [*command, *x],
                 lambda p, w: generate(p, w, "ploomber-engine"), env_for(venv=venv)),
        ]
    return found


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--width", type=int, default=18, help="middle notebooks (18)")
    parser.add_argument("--passes", type=int, default=2, help="passes per tool (2)")
    parser.add_argument("--quick", action="store_true", help="one pass")
    parser.add_argument("--ploomber-venv", type=Path,
                        default=Path(tempfile.gettempdir()) / "nbrules-bench-ploomber")
    parser.add_argument("--no-ploomber", action="store_true", help="skip Ploomber")
    args = parser.parse_args(argv)
    passes = 1 if args.quick else args.passes
    ploomber = None if args.no_ploomber else ensure_ploomber(args.ploomber_venv)
    width = args.width
    results: dict[str, list[dict[str, tuple[float, int]]]] = {}
    floors: list[float] = []
    with tempfile.TemporaryDirectory(prefix="nbrules-compare-") as tmp:
        for index in range(passes):
            project = Path(tmp) / f"floor-{index}"
            generate(project, width)
            floors.append(floor_run(project, width, 1000))
            for tool in tools(width, ploomber):
                print(f"# pass {index + 1}/{passes}: {tool.label}", file=sys.stderr, flush=True)
                copy = Path(tmp) / f"{tool.label.replace(' ', '').replace(',', '-')}-{index}"
                results.setdefault(tool.label, []).append(scenario(tool, copy, width))
                shutil.rmtree(copy, ignore_errors=True)
    report(results, statistics.median(floors), width, passes)


def report(results: dict[str, list[dict[str, tuple[float, int]]]], floor: float,
           width: int, passes: int) -> None:
    total = width + 2
    print(f"# nbrules vs Ploomber vs plain Snakemake: {total} notebooks (1 → {width} → 1)")
    print(f"- date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; "
          f"{os.cpu_count()} cores; Python {platform.python_version()}; "
          f"median of {passes} pass(es); command: python bench/compare.py")
    print(f"- python floor (every notebook as a plain script, serially): {floor:.2f} s\n")
    labels = list(results)
    print("| step | " + " | ".join(labels) + " |")
    print("|---|" + "---:|" * len(labels))
    medians: dict[str, dict[str, float]] = {}
    for step in STEPS:
        cells = []
        for label in labels:
            walls = [r[step][0] for r in results[label]]
            runs = sorted({r[step][1] for r in results[label]})
            wall = statistics.median(walls)
            medians.setdefault(label, {})[step] = wall
            executed = "/".join(map(str, runs))
            cells.append(f"{wall:.1f} s ({wall / floor:.1f}×) · {executed} nb")
        print(f"| {step} | " + " | ".join(cells) + " |")
    print("\nCells: wall time (ratio to the floor's full build) · notebooks executed.")
    full = {label: medians[label]["full build"] for label in labels}
    print("\nPer-notebook overhead over the floor (full build): " + ", ".join(
        f"{label} {(full[label] - floor) / total:+.2f} s" for label in labels))
    for label in labels:
        mine = medians[label]
        noop = mine["no-op"]
        print(f"- {label}: identical-output edit {mine['identical-output edit'] / noop:.1f}× "
              f"the no-op, revert {mine['revert'] / noop:.1f}× the no-op")
    if "plain Snakemake" in medians:
        base = medians["plain Snakemake"]["no-op"]
        for label in labels:
            print(f"- {label}: no-op {medians[label]['no-op'] / base:.2f}× plain Snakemake's")


if __name__ == "__main__":
    main()

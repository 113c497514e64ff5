"""Generate synthetic notebook pipelines for benchmarks: source → N middles → sink.

``generate(project, width)`` writes ``project/Snakefile`` and
``project/notebooks/{source,mid-000…,sink}.py``: tiny notebooks (plain Python, no
third-party imports) so that timings show nbrules' and Snakemake's costs, not
the notebooks' own work.
"""

from __future__ import annotations

from pathlib import Path

SNAKEFILE = "import nbrules\n\nnbrules.include(workflow)\n"

SOURCE = '''# %% [markdown]
# # Source

# %% tags=["parameters"]
upstream = None
product = {"nb": "source.ipynb", "data": "source.txt"}
size = 1000

# %%
values = list(range(size))
with open(product["data"], "w") as handle:
    handle.write("\\n".join(map(str, values)))
'''

MIDDLE = '''# %% tags=["parameters"]
upstream = ["source"]
product = {{"nb": "mid/{name}.ipynb", "data": "mid/{name}.txt"}}
factor = {factor}

# %%
with open(upstream["source"]["data"]) as handle:
    values = [int(v) * factor for v in handle.read().split()]

# %%
with open(product["data"], "w") as handle:
    handle.write(str(sum(values)))
'''

SINK = '''# %% tags=["parameters"]
upstream = {upstream!r}
product = {{"nb": "sink.ipynb", "data": "sink.txt"}}

# %%
total = sum(int(open(upstream[name]["data"]).read()) for name in upstream)
with open(product["data"], "w") as handle:
    handle.write(str(total))
total
'''


def middle_name(index: int) -> str:
    return f"mid-{index:03d}"


def generate(project: Path, width: int) -> list[str]:
    """Write a 1 → width → 1 pipeline; returns the notebook names in order."""
    notebooks = project / "notebooks"
    notebooks.mkdir(parents=True, exist_ok=True)
    (project / "Snakefile").write_text(SNAKEFILE)
    (notebooks / "source.py").write_text(SOURCE)
    names = [middle_name(i) for i in range(width)]
    for index, name in enumerate(names):
        (notebooks / f"{name}.py").write_text(MIDDLE.format(name=name, factor=index + 1))
    (notebooks / "sink.py").write_text(SINK.format(upstream=names))
    return ["source", *names, "sink"]

"""The projects the rebuild benchmark builds, and what it derives from them.

- :data:`EXAMPLE`: a copy of ``workflow/`` and ``profiles/`` (sample and dev profiles);
- :func:`generated_pipeline`: ``generate.py``'s 1 → N → 1 pipeline of tiny notebooks,
  with two config files (another output root, another ``size``);
- for either, nbrules' rule specs computed in-process (:func:`rule_specs_of`), the
  plain-Snakemake baseline written from them (:func:`write_baseline`) and the
  plain-python floor (:func:`floor_seconds`).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from baseline import write_snakefile
from benchlib import REPO, environment, median, timed
from generate import generate
from overhead import plain_script

Edits = tuple[tuple[str, str], ...]
FLOOR_BUDGET = 20.0  # seconds of floor repeats per profile, after the first full run


@dataclass(frozen=True, slots=True)
class Profile:
    label: str
    args: tuple[str, ...]
    configfiles: tuple[str, ...]  # merged in order, as Snakemake does


@dataclass(frozen=True, slots=True)
class Pipeline:
    name: str
    setup: Callable[[Path], None]
    snakefile_dir: str
    first: str  # the first notebook's file, relative to the project
    profiles: tuple[Profile, Profile]
    comment: Edits
    identical: Edits
    real: Edits
    baseline_configfile: str | None = None


def _copy_example(project: Path) -> None:
    for folder in ("workflow", "profiles"):
        shutil.copytree(REPO / folder, project / folder,
                        ignore=shutil.ignore_patterns("__pycache__"))


def _generated(width: int) -> Callable[[Path], None]:
    def setup(project: Path) -> None:
        generate(project, width)
        (project / "config-a.yaml").write_text("results: results/a\n")
        (project / "config-b.yaml").write_text("results: results/b\nparams:\n  size: 500\n")

    return setup


EXAMPLE = Pipeline(
    name="example pipeline (6 notebooks, sample profile)",
    setup=_copy_example,
    snakefile_dir="workflow",
    first="workflow/notebooks/get-data.py",
    profiles=(
        Profile("sample", ("--profile", "profiles/sample"),
                ("workflow/config.yaml", "profiles/sample/data.yaml")),
        Profile("dev", ("--profile", "profiles/dev"),
                ("workflow/config.yaml", "profiles/dev/data.yaml")),
    ),
    comment=(("tables = load_tables(", "# every table, whole\ntables = load_tables("),),
    identical=(("flights = sample_flights(", "sampled = sample_flights("),
               ("len(flights):,", "len(sampled):,"),
               ("flights.head()", "sampled.head()"),
               ("write_parquet(flights, ", "write_parquet(sampled, ")),
    real=(("seed = 42", "seed = 7"),),
    baseline_configfile="workflow/config.yaml",
)


def generated_pipeline(width: int) -> Pipeline:
    return Pipeline(
        name=f"generated pipeline (1 → {width} → 1, {width + 2} tiny notebooks)",
        setup=_generated(width),
        snakefile_dir=".",
        first="notebooks/source.py",
        profiles=(
            Profile("config A", ("--cores", "2", "--configfile", "config-a.yaml"),
                    ("config-a.yaml",)),
            Profile("config B", ("--cores", "2", "--configfile", "config-b.yaml"),
                    ("config-b.yaml",)),
        ),
        comment=(("values = list(range(size))", "# 0 … size - 1\nvalues = list(range(size))"),),
        identical=(("values = list(range(size))", "numbers = list(range(size))"),
                   ("map(str, values)", "map(str, numbers)")),
        real=(("size = 1000", "size = 1001"),),
    )


# ---------------------------------------------------------------- specs (in-process)


def merged_config(project: Path, files: Sequence[str]) -> dict[str, Any]:
    config: dict[str, Any] = {}
    for name in files:
        _update(config, yaml.safe_load((project / name).read_text()) or {})
    return config


def _update(base: dict[str, Any], new: Mapping[str, Any]) -> None:
    """Snakemake's recursive ``configfile`` merge."""
    for key, value in new.items():
        if isinstance(value, Mapping) and isinstance(base.get(key), dict):
            _update(base[key], value)
        else:
            base[key] = value


@contextlib.contextmanager
def _inside(project: Path) -> Iterator[None]:
    """``rule_specs`` resolves paths against the working directory; its memo goes aside."""
    old_cwd, old_cache = Path.cwd(), os.environ.get("NBRULES_CACHE")
    os.chdir(project)
    os.environ["NBRULES_CACHE"] = str(project / ".bench-memo")
    try:
        yield
    finally:
        os.chdir(old_cwd)
        if old_cache is None:
            os.environ.pop("NBRULES_CACHE", None)
        else:
            os.environ["NBRULES_CACHE"] = old_cache


def rule_specs_of(project: Path, pipeline: Pipeline, profile: Profile) -> list[Any]:
    from nbrules.snakemake.rules import rules_from_config

    with _inside(project):
        config = merged_config(project, profile.configfiles)
        return rules_from_config(config, project / pipeline.snakefile_dir)[1]


def write_baseline(project: Path, pipeline: Pipeline) -> None:
    by_root = {}
    for profile in pipeline.profiles:
        specs = rule_specs_of(project, pipeline, profile)
        by_root[specs[0].job.results] = specs
    shutil.rmtree(project / ".bench-memo", ignore_errors=True)
    write_snakefile(project / pipeline.snakefile_dir / "Snakefile", by_root,
                    pipeline.baseline_configfile)


# ---------------------------------------------------------------- the floor


def floor_seconds(project: Path, pipeline: Pipeline, profile: Profile,
                  repeat: int) -> tuple[dict[str, float], int]:
    """Median seconds of each notebook's code as a plain script, run in DAG order.

    Up to ``repeat`` runs of the whole pipeline, while they fit in :data:`FLOOR_BUDGET`.
    """
    specs = rule_specs_of(project, pipeline, profile)
    jobs = [spec.job for spec in specs]
    pythonpath = os.pathsep.join(str(project / p) for p in jobs[0].pythonpath)
    env = environment(PYTHONPATH=pythonpath, MPLBACKEND="Agg")
    scripts = []
    for job in jobs:
        script = project / f"plain-{profile.label.replace(' ', '-')}-{job.name}.py"
        script.write_text(plain_script(job.to_json(), project, preamble=""))
        for product in job.products.values():
            (project / product).parent.mkdir(parents=True, exist_ok=True)
        scripts.append((job.name, script))
    runs: dict[str, list[float]] = {name: [] for name, _ in scripts}
    start = time.perf_counter()
    for _ in range(repeat):
        for name, script in scripts:
            runs[name].append(timed([sys.executable, str(script)], project, env))
        if time.perf_counter() - start > FLOOR_BUDGET:
            break
    return {name: median(times) for name, times in runs.items()}, len(runs[scripts[0][0]])

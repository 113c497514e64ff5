"""The plain-Snakemake baseline of ``cache_bench.py``: nbrules' DAG without nbrules.

The fairest baseline we could think of keeps everything that is not the feature
under test identical, and replaces the feature with what Snakemake users do today:

- **same DAG and rule bodies**: the rules are nbrules' own
  :func:`nbrules.snakemake.rules.rule_specs` (inputs, outputs, log, threads, resources, the
  resolved job spec), written out as a static Snakefile — so parsing it costs
  Snakemake's own work only, none of nbrules' (no notebook discovery, no code
  digests, no cache prediction);
- **same executor**: each job runs :func:`nbrules.run.execute.run` (the same injected
  parameters, the same nbclient kernel, the same executed notebook written), so a
  job costs what an nbrules cache miss costs minus the cache (no key, no input
  digests, no publish);
- **Snakemake's source tracking instead of the content cache**: the notebook's
  ``.py`` is an ``input:`` of its rule and ``params`` holds the job spec but no
  code digest. Like Snakemake's own ``notebook:``/``script:`` directives (whose
  source mtime is compared with the outputs), any edit of the file reruns the
  job and everything downstream (Snakemake ≥ 8 skips an input that is newer than
  the outputs only if its checksum is unchanged, e.g. after a bare ``touch``).

``python bench/baseline.py [--threads N] SPEC`` is the baseline job (what the
generated rules' ``shell:`` runs). It prints ``nbrules: <task>: cache miss …`` to
stderr like an nbrules job, so one parser counts the kernels of both.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve()
TARGET = "all"


def _rules_text(specs: Sequence[Any]) -> str:
    """One static ``rule`` block per nbrules RuleSpec."""
    shell = (f"{shlex.quote(sys.executable)} {shlex.quote(str(HERE))} "
             "--threads {threads} {params.spec:q}")
    blocks = []
    for spec in specs:
        job = spec.job  # the whole job spec, parameter values included
        blocks.append(
            f"rule {spec.name}:\n"
            f"    input: {[*spec.input, job.source]!r}\n"
            f"    output: **{dict(spec.output)!r}\n"
            f"    log: {spec.log!r}\n"
            f"    params: spec={job.to_json()!r}\n"
            f"    threads: {spec.threads!r}\n"
            f"    resources: **{dict(spec.resources)!r}\n"
            f"    shell: {shell!r}\n"
        )
    return "\n\n".join(blocks)


def write_snakefile(snakefile: Path, specs_by_results: Mapping[str, Sequence[Any]],
                    configfile: str | None = None) -> None:
    """Write ``snakefile`` and one rules file per output root, chosen by ``config``.

    The target rule sits in ``snakefile`` itself: rules of an ``include:`` never
    become the default target.
    """
    includes, products = {}, {}
    for index, (results, specs) in enumerate(sorted(specs_by_results.items())):
        name = f"plain-rules-{index}.smk"
        (snakefile.parent / name).write_text(_rules_text(specs))
        includes[results] = name
        products[results] = [path for spec in specs for path in spec.output.values()]
    lines = ["# Plain Snakemake baseline, written by bench/baseline.py (see its docstring)."]
    if configfile:
        lines.append(f"configfile: {configfile!r}")
    lines += [
        "_ROOT = config.get('results', 'results')  # nbrules' default when config sets none",
        f"rule {TARGET}:\n    input: {products!r}[_ROOT]",
        f"include: {includes!r}[_ROOT]",
    ]
    snakefile.write_text("\n\n".join(lines) + "\n")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="one baseline job: run the notebook, no cache")
    parser.add_argument("spec")
    parser.add_argument("--threads", type=int, default=0)
    args = parser.parse_args(argv)

    from nbrules.plan.jobspec import JobSpec
    from nbrules.run.execute import run

    spec = JobSpec.from_json(args.spec)
    result = run(spec, Path.cwd(), threads=args.threads)
    line = (f"nbrules: {spec.name}: cache miss — baseline without cache "
            f"(executed in {result.seconds:.1f}s)")
    print(line, file=sys.stderr, flush=True)
    Path(spec.log).parent.mkdir(parents=True, exist_ok=True)
    with open(spec.log, "a", encoding="utf-8") as handle:
        handle.write(line + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

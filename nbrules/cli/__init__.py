"""The ``nbrules`` command line: the only place that prints for humans.

- ``nbrules run SPEC_FILE`` — one Snakemake job (:mod:`.job`);
- ``nbrules build`` — build a project folder (:mod:`nbrules.ploomber.build`);
- ``nbrules cache …`` — inspect and maintain the product cache (:mod:`.cache`);
- ``nbrules status`` — what the next build will do, and why (:mod:`.status`).
- ``nbrules inject`` / ``nbrules strip`` — the injected cell in notebook sources;
- ``nbrules new DIR`` — a ready project (:mod:`.new`).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from ..common.errors import NbrulesError
from . import cache, inject, new, status, strip


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="nbrules", description=__doc__)
    sub = top.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="execute one notebook job (called by Snakemake)")
    run.add_argument("spec", help="the job spec file the rule names")
    run.add_argument("--threads", type=int, default=0)
    run.set_defaults(func=lambda args: _run(args.spec, args.threads))
    cache.add_parser(sub)
    status.add_parser(sub)
    inject.add_parser(sub)
    strip.add_parser(sub)
    new.add_parser(sub)
    # Listed for --help only: main() hands `build ...` to nbrules.ploomber.build untouched,
    # since its unknown options go to Snakemake (argparse cannot pass them through).
    sub.add_parser(
        "build",
        help="build this project folder (pipeline.yaml or notebooks/) "
        "with Snakemake; see nbrules build --help",
    )
    return top


def _run(spec: str, threads: int) -> int:
    from .job import run

    return run(spec, threads)


def _build(argv: Sequence[str]) -> int:
    from ..ploomber import build

    if list(argv[:1]) in (["-h"], ["--help"]):
        print(build.__doc__)
        return 0
    try:
        return build.run(argv)
    except NbrulesError as error:
        print(error.render(), file=sys.stderr)
        return 1


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["build"]:
        return _build(argv[1:])
    args = parser().parse_args(argv)
    try:
        return int(args.func(args))
    except NbrulesError as error:
        print(error.render(), file=sys.stderr)
        return 1

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

DESCRIPTION = """\
Jupytext notebooks as Snakemake rules, with a content-addressed product cache.
In a Snakefile: `import nbrules; nbrules.include(workflow)`, then run `snakemake`.
Without one: `nbrules build` in a project folder (pipeline.yaml or notebooks/)."""


def parser(only_run: bool = False) -> argparse.ArgumentParser:
    """The whole command line; with ``only_run``, just ``run``: a Snakemake job's own
    start then imports none of the other subcommands (cache admin pulls in pyarrow)."""
    top = argparse.ArgumentParser(
        prog="nbrules",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    top.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = top.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="execute one notebook job (called by Snakemake)")
    run.add_argument("spec", help="the job spec file the rule names")
    run.add_argument("--threads", type=int, default=0)
    run.set_defaults(func=lambda args: _run(args.spec, args.threads))
    if only_run:
        return top
    from . import cache, inject, new, status, strip

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


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("nbrules")
    except PackageNotFoundError:
        return "unknown (not installed)"


def _run(spec: str, threads: int) -> int:
    from .job import run

    return run(spec, threads)


def _build(argv: Sequence[str]) -> int:
    from ..ploomber import build

    if list(argv[:1]) in (["-h"], ["--help"]):
        print(_plain(build.__doc__ or ""))
        return 0
    try:
        return build.run(argv)
    except NbrulesError as error:
        print(error.render(), file=sys.stderr)
        return 1


def _plain(text: str) -> str:
    """A docstring for the terminal: no reStructuredText markup."""
    import re

    text = re.sub(r":\w+:`~?([^`]+)`", r"\1", text)
    return text.replace("``", "`").strip() + "\n\nEverything else goes to snakemake --help."


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["build"]:
        return _build(argv[1:])
    args = parser(only_run=argv[:1] == ["run"]).parse_args(argv)
    try:
        return int(args.func(args))
    except NbrulesError as error:
        print(error.render(), file=sys.stderr)
        return 1

"""``nbrules new DIR``: create a ready project in the recommended layout.

::

    DIR/
      workflow/Snakefile              nbrules.include(workflow)
      workflow/config.yaml            defaults shared by the profiles
      workflow/notebooks/             make-data.py → summarize.py (reads its product)
      workflow/src/<package>/         the notebooks' shared code (one function)
      tests/                          its unit test
      profiles/sample|dev|production  Snakemake profiles (data size, output root)
      pyproject.toml, README.md, .gitignore, .pre-commit-config.yaml (the strip hook),
      .github/workflows/pipeline.yml  CI: unit tests and the sample profile

Then: ``cd DIR && pip install -e '.[test]' && snakemake --profile profiles/sample && pytest``.
"""

from __future__ import annotations

import argparse
import keyword
import re
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path, PurePosixPath
from typing import Any

from ..common.errors import ConfigError

#: Template files: ``.tmpl`` suffix dropped, ``dot-`` prefix → ``.``, ``__package__`` →
#: the package name; ``{{project}}`` and ``{{package}}`` replaced in their text.
SUFFIX = ".tmpl"


def add_parser(sub: Any) -> None:
    new = sub.add_parser(
        "new",
        help="create a ready project: Snakefile, two notebooks, profiles, package, tests, CI",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    new.add_argument("directory", metavar="DIR", help="the new project's folder (new or empty)")
    new.add_argument(
        "--package", metavar="NAME", help="the Python package's name (default: from DIR)"
    )
    new.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    target = Path(args.directory)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise ConfigError(
            "already exists and is not an empty folder",
            path=target,
            hint="choose a new folder name",
        )
    project = target.resolve().name
    package = args.package or package_name(project)
    if not package.isidentifier() or keyword.iskeyword(package):
        raise ConfigError(
            f"'{package}' is not a valid Python package name", hint="pass --package NAME"
        )
    written = create(target, project, package)
    for path in written:
        print(f"created {path}")
    print(f"\nnext: cd {target} && pip install -e '.[test]' && snakemake --profile profiles/sample")
    return 0


def package_name(project: str) -> str:
    """A Python package name for a folder name (``my-flights`` → ``my_flights``)."""
    name = re.sub(r"\W+", "_", project.lower()).strip("_") or "pipeline"
    return f"pipeline_{name}" if name[0].isdigit() or keyword.iskeyword(name) else name


def create(target: Path, project: str, package: str) -> list[Path]:
    """Write the project's files under ``target``; their paths, in order."""
    written = []
    for relative, template in sorted(
        templates(resources.files("nbrules") / "templates" / "project")
    ):
        path = target / _target_path(relative, package)
        text = template.read_text(encoding="utf-8")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text.replace("{{project}}", project).replace("{{package}}", package))
        written.append(path)
    return written


def templates(
    folder: Traversable, prefix: PurePosixPath | None = None
) -> list[tuple[PurePosixPath, Traversable]]:
    """Every template file below ``folder``, with its path relative to it."""
    prefix = prefix or PurePosixPath()
    found = []
    for entry in folder.iterdir():
        if entry.is_dir():
            found += templates(entry, prefix / entry.name)
        elif entry.name.endswith(SUFFIX):
            found.append((prefix / entry.name, entry))
    return found


def _target_path(relative: PurePosixPath, package: str) -> Path:
    parts = []
    for part in relative.parts:
        part = part.removesuffix(SUFFIX)
        if part.startswith("dot-"):
            part = "." + part.removeprefix("dot-")
        parts.append(package if part == "__package__" else part)
    return Path(*parts)

"""The cell a build would inject into a notebook, for a profile, without running Snakemake.

Authoring tools show a notebook the way the pipeline runs it: ``nbrules inject``
writes the cell into the ``.py`` source, the Jupyter extension adds it to the
notebook it opens. Both need exactly the code :func:`~nbrules.plan.inject.injected_source`
gives for the notebook's :class:`~nbrules.plan.jobspec.JobSpec` — the one
``notebooks.smk`` declares for the same config — plus a first comment naming the
profile. Nothing here starts a kernel, computes a code digest or writes a file.

Two ways in:

- :func:`project_cells`: every notebook of a project (the whole pipeline is
  discovered and checked, as a build would);
- :func:`notebook_cell`: one notebook, reading only its own declaration, its
  upstreams' declarations and the config — what an editor opening one notebook of a
  thousand can afford.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..common.errors import UnknownUpstream
from ..common.files import normal
from ..common.text import did_you_mean
from ..plan import graph
from ..plan.declarations import Task, discover, read_declaration
from ..plan.inject import injected_source
from ..plan.jobspec import JobSpec, job_spec, notebook_reads
from ..plan.scripts import discover_functions
from ..plan.settings import Settings, parse_settings
from .commandline import has_snakefile
from .project import DEFAULT_PROFILE, ProjectConfig, read_project
from .rules import load


@dataclass(frozen=True, slots=True)
class NotebookCell:
    """A notebook's injected cell for one profile."""

    task: str
    source: Path
    profile: str
    spec: JobSpec
    code: str
    #: the folder the build runs in; the spec's paths are relative to it
    root: Path


def project_cells(root: Path, profile: str = DEFAULT_PROFILE) -> list[NotebookCell]:
    """The injected cell of every notebook of the project in ``root``, in build order."""
    project, s = _settings(root, profile)
    found = discover(root / s.notebooks)
    found += discover_functions(root / s.notebooks, found)
    graph.check_not_shadowing(found)
    pipeline = load(s, found, project.files)
    notebooks = [task for task in pipeline if task.kind == "notebook"]
    return [_cell(task, pipeline.tasks, s, root, profile) for task in notebooks]


def notebook_cell(path: Path, profile: str = DEFAULT_PROFILE) -> NotebookCell | None:
    """The injected cell of the notebook at ``path``, or ``None`` if it is no pipeline notebook.

    The project is the nearest folder above ``path`` that has a Snakefile and the
    profile (or, failing that, a Snakefile); the notebook must sit in its notebooks
    folder and declare a task. Errors (a bad config, an unknown upstream) are raised.
    """
    root = project_root(path, profile)
    if root is None:
        return None
    _, s = _settings(root, profile)
    folder = root / s.notebooks
    if normal(path.parent) != normal(folder):
        return None
    task = read_declaration(path)
    if task is None:
        return None
    tasks = {task.name: task, **_upstreams(task, folder)}
    return _cell(task, tasks, s, root, profile)


def project_root(path: Path, profile: str | None = DEFAULT_PROFILE) -> Path | None:
    """The folder a build of the notebook at ``path`` runs in (see :func:`notebook_cell`)."""
    folders = [f for f in normal(path).parents if has_snakefile(f)]
    for folder in folders:
        if profile is None or _has_profile(folder, profile):
            return folder
    return folders[0] if folders else None


def _has_profile(root: Path, profile: str) -> bool:
    candidates = [root / profile, root / "profiles" / profile]
    return any((folder / "config.yaml").is_file() for folder in candidates)


def project_settings(root: Path, profile: str = DEFAULT_PROFILE) -> Settings:
    """The settings a build of the project in ``root`` with ``profile`` would use."""
    return _settings(root, profile)[1]


def _settings(root: Path, profile: str) -> tuple[ProjectConfig, Settings]:
    project = read_project(root, profile)
    return project, parse_settings(project.config, project.basedir, root, project.files)


def _upstreams(task: Task, folder: Path) -> dict[str, Task]:
    """The declarations of ``task``'s upstreams: a notebook's name is its file stem."""
    found: dict[str, Task] = {}
    functions: dict[str, Task] | None = None
    for name in task.upstream:
        path = folder / f"{name}.py"
        upstream = read_declaration(path) if name and path.is_file() else None
        if upstream is None:  # a @task function of a module of the folder?
            if functions is None:
                functions = {t.name: t for t in discover_functions(folder, [])}
            upstream = functions.get(name)
        if upstream is None:
            known = sorted(p.stem for p in folder.glob("*.py") if not p.name.startswith("."))
            raise UnknownUpstream(
                f"unknown upstream '{name}'",
                path=task.source,
                line=task.line_of("upstream"),
                hint=did_you_mean(name, known, "notebooks"),
            )
        found[name] = upstream
    return found


def _cell(
    task: Task, tasks: Mapping[str, Task], s: Settings, root: Path, profile: str
) -> NotebookCell:
    spec = job_spec(task, tasks, s, notebook_reads(task, tasks))
    return NotebookCell(task.name, task.source, profile, spec, cell_code(spec, root, profile), root)


def make_product_folders(cell: NotebookCell) -> None:
    """Create the folders of the cell's products, as a build does before it runs a notebook.

    With them the notebook run by hand (a script, a Jupyter kernel) can write its
    products where the pipeline would.
    """
    for path in cell.spec.products.values():
        (cell.root / path).parent.mkdir(parents=True, exist_ok=True)


def cell_code(spec: JobSpec, root: Path, profile: str) -> str:
    """The pipeline's injected code, its first comment naming the profile."""
    heading, _, rest = injected_source(spec, root).partition("\n")
    return f"{heading} for profile {profile!r}; `nbrules strip` removes this cell\n{rest}"


__all__: Sequence[str] = (
    "NotebookCell",
    "make_product_folders",
    "notebook_cell",
    "project_cells",
    "project_root",
    "project_settings",
)

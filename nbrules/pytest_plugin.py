"""``pytest --nbrules``: one smoke test per notebook of the project pytest runs in.

The plugin is registered through the ``pytest11`` entry point, so it is loaded by
every pytest run in an environment where nbrules is installed. Without
``--nbrules`` it adds nothing and imports nothing beyond this module.

With ``--nbrules [--nbrules-profile NAME]`` (default ``sample``), every notebook of
the project in pytest's root folder becomes a test item
(``workflow/notebooks/clean.py::clean``). The first item to run builds the pipeline
once for the session — plain ``snakemake --profile profiles/NAME --keep-going``,
product cache on — and each item then reports its notebook: passed (executed,
restored from the cache, or up to date), failed with the ``.py:line`` of the
failure, or skipped when an upstream did not build. An unchanged notebook is a
cache hit: it starts no kernel. Each item records what its notebook did as the
``nbrules`` user property (``executed``, ``restored``, ``up to date``, …), which
``--junitxml`` reports keep.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from .plan.settings import CacheSettings
    from .snakemake.injection import NotebookCell
    from .snakemake.smoke import SmokeBuild

DEFAULT_PROFILE = "sample"
MARKER = "nbrules"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("nbrules", "notebook smoke tests (nbrules)")
    group.addoption(
        "--nbrules",
        action="store_true",
        help="also run every pipeline notebook of the project, one test each (through Snakemake)",
    )
    group.addoption(
        "--nbrules-profile",
        default=DEFAULT_PROFILE,
        metavar="NAME",
        help=f"the Snakemake profile of that build (default: {DEFAULT_PROFILE})",
    )


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("nbrules"):
        config.addinivalue_line("markers", f"{MARKER}: a notebook smoke test (pytest --nbrules)")


@pytest.hookimpl(tryfirst=True)  # before -k / -m deselect, so they apply to notebooks too
def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    if config.getoption("nbrules"):
        items.extend(_notebook_items(session, config))


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    build = config.stash.get(_BUILD, None)
    if build is None or build.result is None:
        return
    result = build.result
    terminalreporter.section(f"nbrules build {result.build_id} (profile {result.profile})")
    counts = ", ".join(
        f"{result.count(state)} {state}"
        for state in ("executed", "restored", "up to date", "failed", "not run")
    )
    terminalreporter.write_line(f"{len(result.outcomes)} notebooks: {counts}")
    for outcome in result.outcomes.values():
        said = outcome.detail.splitlines()[0] if outcome.state in ("executed", "restored") else ""
        terminalreporter.write_line(
            f"{outcome.task}: {outcome.state}" + (f" ({said})" if said else "")
        )


class _SharedBuild:
    """The session's one build, run when the first notebook item asks for it."""

    def __init__(
        self, root: Path, profile: str, cells: list[NotebookCell], cache: CacheSettings
    ) -> None:
        self.root, self.profile, self.cells, self.cache = root, profile, cells, cache
        self.result: SmokeBuild | None = None

    def get(self) -> SmokeBuild:
        if self.result is None:
            from .snakemake.smoke import run_build

            self.result = run_build(self.root, self.profile, self.cells, self.cache)
        return self.result


_BUILD = pytest.StashKey[_SharedBuild]()


def _notebook_items(session: pytest.Session, config: pytest.Config) -> list[pytest.Item]:
    from .common.errors import NbrulesError
    from .snakemake.injection import project_cells, project_settings

    root, profile = config.rootpath, str(config.getoption("nbrules_profile"))
    try:
        cells = project_cells(root, profile)
        cache = project_settings(root, profile).cache
    except NbrulesError as error:
        where = root / error.path if error.path is not None else root / "Snakefile"
        parent = NotebookFile.from_parent(session, path=where)
        return [ProjectItem.from_parent(parent, name="nbrules-project", message=error.render())]
    build = _SharedBuild(root, profile, cells, cache)
    config.stash[_BUILD] = build
    items: list[pytest.Item] = []
    for cell in cells:
        source = cell.source if cell.source.is_absolute() else root / cell.source
        parent = NotebookFile.from_parent(session, path=source)
        item = NotebookItem.from_parent(parent, name=cell.task, cell=cell, build=build)
        # Reported as collected, so "collected N items" counts the notebooks too.
        report = pytest.CollectReport(parent.nodeid, "passed", None, [item])
        config.hook.pytest_collectreport(report=report)
        items.append(item)
    return items


class NotebookFailed(Exception):
    """A notebook failed in the build; the message is its log text."""


class NotebookFile(pytest.File):
    def collect(self) -> list[pytest.Item]:
        return []  # its item is made by pytest_collection_modifyitems


class NotebookItem(pytest.Item):
    """One notebook of the pipeline; passes when the build built or restored it."""

    def __init__(self, *, cell: NotebookCell, build: _SharedBuild, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.cell, self.build = cell, build
        self.add_marker(MARKER)

    def runtest(self) -> None:
        outcome = self.build.get().outcomes[self.cell.task]
        self.user_properties.append(("nbrules", outcome.state))
        if outcome.state == "failed":
            raise NotebookFailed(outcome.detail)
        if outcome.state == "not run":  # reported at the notebook, not at this line
            raise pytest.skip.Exception(outcome.detail, _use_item_location=True)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        if isinstance(excinfo.value, NotebookFailed):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, 0, f"notebook {self.name}"


class ProjectItem(pytest.Item):
    """Stands for the whole pipeline when the project cannot be read (bad config, …)."""

    def __init__(self, *, message: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.message = message

    def runtest(self) -> None:
        raise NotebookFailed(self.message)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        return str(excinfo.value)

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, 0, "nbrules project"

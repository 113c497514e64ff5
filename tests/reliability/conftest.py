"""Fixtures of the reliability tests (helpers: :mod:`harness`)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from .harness import FIXTURE, IGNORE, TASKS, Build, build, copy, kill_all


@pytest.fixture(scope="session")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixture built once, from scratch: its products are the expected ones."""
    project = tmp_path_factory.mktemp("reference") / "reliability"
    shutil.copytree(FIXTURE, project, ignore=IGNORE)
    first = build(project)
    assert first.executed() == sorted(TASKS)
    return project


@pytest.fixture
def fresh(tmp_path: Path) -> Path:
    """A copy of the fixture, never built."""
    project = tmp_path / "reliability"
    shutil.copytree(FIXTURE, project, ignore=IGNORE)
    return project


@pytest.fixture
def built(reference: Path, tmp_path: Path) -> Path:
    """A copy of the reference build: products, Snakemake metadata and store."""
    return copy(reference, tmp_path / "built")


@pytest.fixture
def cleanup() -> Iterator[list[Build]]:
    """Builds a test started: killed, with their jobs and kernels, when it ends."""
    started: list[Build] = []
    yield started
    for one in started:
        kill_all(one)

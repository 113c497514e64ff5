"""The exception tree and its compiler-style rendering."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from nbrules.common import errors
from nbrules.common.errors import (
    CacheError,
    ConfigError,
    Cycle,
    DeclarationError,
    DuplicateName,
    DuplicateProduct,
    ExecutionError,
    GraphError,
    NbrulesError,
    UnknownUpstream,
)


def test_message_with_path_line_and_hint_reads_like_a_compiler() -> None:
    error = UnknownUpstream(
        "unknown upstream 'get_data'",
        path=Path("workflow/notebooks/clean.py"),
        line=4,
        hint="did you mean 'get-data'?",
    )
    assert str(error) == error.render() == (
        "workflow/notebooks/clean.py:4: unknown upstream 'get_data'\n"
        "hint: did you mean 'get-data'?"
    )


def test_without_line_or_path_or_hint() -> None:
    assert ConfigError("bad", path="config.yaml").render() == "config.yaml: bad"
    assert ConfigError("bad").render() == "bad"
    assert ConfigError("bad", line=3).render() == "bad"


@pytest.mark.parametrize(
    ("cls", "parent"),
    [
        (DeclarationError, NbrulesError),
        (GraphError, NbrulesError),
        (UnknownUpstream, GraphError),
        (Cycle, GraphError),
        (DuplicateProduct, GraphError),
        (DuplicateName, GraphError),
        (ConfigError, NbrulesError),
        (ExecutionError, NbrulesError),
        (CacheError, NbrulesError),
    ],
)
def test_the_tree(cls: type[NbrulesError], parent: type[NbrulesError]) -> None:
    assert issubclass(cls, parent)


def test_every_error_class_is_in_the_documented_tree() -> None:
    classes = [
        obj for _, obj in inspect.getmembers(errors, inspect.isclass)
        if issubclass(obj, NbrulesError) and obj.__module__ == errors.__name__
    ]
    assert errors.__doc__ is not None
    for cls in classes:
        assert cls.__name__ in errors.__doc__

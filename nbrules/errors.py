"""The exception tree of nbrules.

Every error a user can cause reads like a compiler diagnostic::

    workflow/notebooks/clean.py:4: unknown upstream 'get_data'
    hint: did you mean 'get-data'?

The tree::

    NbrulesError                 base of everything nbrules raises on purpose
    ├── DeclarationError         a notebook's ``parameters`` cell is malformed
    ├── GraphError               the notebooks do not form a valid DAG
    │   ├── UnknownUpstream      ``upstream`` names a notebook that does not exist
    │   ├── Cycle                the upstream relation has a cycle
    │   ├── DuplicateProduct     two notebooks declare the same product path
    │   └── DuplicateName        two notebooks share a name (or a rule name)
    ├── ConfigError              config / profile values are invalid
    ├── ExecutionError           a notebook failed while running in its kernel
    └── CacheError               the product cache is unusable or corrupt
"""

from __future__ import annotations

from pathlib import Path


class NbrulesError(Exception):
    """Base class: a located message plus an optional ``hint:`` line."""

    def __init__(
        self,
        message: str,
        *,
        path: Path | str | None = None,
        line: int | None = None,
        hint: str | None = None,
    ) -> None:
        self.message = message
        self.path = Path(path) if path is not None else None
        self.line = line
        self.hint = hint
        super().__init__(self.render())

    def location(self) -> str:
        if self.path is None:
            return ""
        return f"{self.path}:{self.line}: " if self.line else f"{self.path}: "

    def render(self) -> str:
        text = f"{self.location()}{self.message}"
        if self.hint:
            text += f"\nhint: {self.hint}"
        return text


class DeclarationError(NbrulesError):
    """A notebook's parameters cell cannot be read as a task declaration."""


class GraphError(NbrulesError):
    """The declared notebooks do not form a valid pipeline."""


class UnknownUpstream(GraphError):
    """An ``upstream`` entry names no known notebook."""


class Cycle(GraphError):
    """The upstream relation is cyclic."""


class DuplicateProduct(GraphError):
    """Two notebooks write the same product path."""


class DuplicateName(GraphError):
    """Two notebooks have the same task or rule name."""


class ConfigError(NbrulesError):
    """A config or profile value is invalid."""


class ExecutionError(NbrulesError):
    """A notebook raised while executing in its kernel."""


class CacheError(NbrulesError):
    """The content-addressed cache cannot be used."""

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
    ├── ConfigError              config / profile / pipeline.yaml values are invalid
    │   └── Problems             several of them, reported together in one run
    ├── ExecutionError           a notebook failed while running (carries the
    │   │                        exception's name, value and traceback)
    │   └── CheckFailed          an integrity check failed on a product it wrote
    └── CacheError               the product cache is unusable
        └── DamagedEntry         a cache entry's manifest or object is damaged
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


class Problems(ConfigError):
    """Several errors found in one pass, so a user fixes them all before rerunning.

    Rendered one after another, each with its location and hint, then a count.
    """

    def __init__(self, errors: list[NbrulesError]) -> None:
        self.errors = [e for error in errors for e in _flat(error)]
        first = self.errors[0]
        super().__init__(first.message, path=first.path, line=first.line, hint=first.hint)

    def render(self) -> str:
        if not hasattr(self, "errors"):  # during __init__
            return super().render()
        count = f"{len(self.errors)} problems found; nothing was run"
        return "\n".join([*(e.render() for e in self.errors), count])

    @classmethod
    def raise_if_any(cls, errors: list[NbrulesError]) -> None:
        """Nothing if ``errors`` is empty; the error itself if one; else all of them."""
        if len(errors) == 1:
            raise errors[0]
        if errors:
            raise cls(errors)


def _flat(error: NbrulesError) -> list[NbrulesError]:
    return error.errors if isinstance(error, Problems) else [error]


class ExecutionError(NbrulesError):
    """A notebook failed while executing.

    ``ename``, ``evalue`` and ``traceback`` are the failing cell's exception (empty
    when the kernel itself failed), as nbclient's ``CellExecutionError`` has them.
    """

    def __init__(
        self,
        message: str,
        *,
        path: Path | str | None = None,
        line: int | None = None,
        hint: str | None = None,
        ename: str = "",
        evalue: str = "",
        traceback: str = "",
    ) -> None:
        self.ename = ename
        self.evalue = evalue
        self.traceback = traceback
        super().__init__(message, path=path, line=line, hint=hint)


class CheckFailed(ExecutionError):
    """An integrity check failed on a product the notebook wrote (nothing is published).

    ``check`` is its name (``rows``, … or ``module:function``); ``product`` the key.
    """

    def __init__(
        self,
        message: str,
        *,
        path: Path | str | None = None,
        hint: str | None = None,
        check: str = "",
        product: str = "",
    ) -> None:
        self.check = check
        self.product = product
        super().__init__(message, path=path, hint=hint)


class CacheError(NbrulesError):
    """The content-addressed cache cannot be used."""


class DamagedEntry(CacheError):
    """A manifest or one of its objects is missing, truncated, corrupt or not a file.

    ``bad_object`` is the object file to drop with the entry, if one is to blame.
    """

    def __init__(self, message: str, bad_object: Path | None = None) -> None:
        super().__init__(message, hint="the entry is dropped; the notebook runs again")
        self.bad_object = bad_object

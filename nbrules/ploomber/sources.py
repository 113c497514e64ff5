"""A task entry's ``source:`` → what it is: a notebook (``.py``, ``.ipynb``), a shell
script (``.sh``) or a Python function (``tasks.get``, found in the project folder)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..common.errors import ConfigError
from ..plan.checks import module_file
from ..plan.declarations import ParametersCell
from ..plan.scripts import declared_cell, find_function, script_upstream


@dataclass(frozen=True, slots=True)
class Source:
    """A resolved ``source:``: the file, the task kind, and the function's dotted path."""

    path: Path
    kind: str
    function: str = ""
    line: int = 1

    @property
    def default_name(self) -> str:
        """Ploomber's task name when ``name:`` is absent: the function's or file's."""
        return self.function.rpartition(".")[2] if self.function else self.path.stem

    def cell(self, shown: Path) -> ParametersCell:
        """The declarations a function or script makes (its upstream), as a cell."""
        if self.kind == "function":
            found = find_function(self.path, self.default_name, shown)
            return declared_cell(found.line, found.upstream)
        return declared_cell(1, script_upstream(self.path.read_text(encoding="utf-8")))


def function_source(text: str, label: object, where: Path, line: int, root: Path) -> Source:
    """``tasks.get``: the function ``get`` of ``tasks.py`` (or ``tasks/__init__.py``), in
    the project folder or, for a ``src/<pkg>`` package (installed, as Ploomber needs
    it), under ``src/``."""
    module, _, name = text.rpartition(".")
    path = module_file(module, [root, root / "src"])
    if path is None or not module or not name.isidentifier():
        raise ConfigError(
            f"task '{label}': cannot find module '{module}' of function {text}",
            path=where,
            line=line,
            hint="a function source is module.function, the module a .py file of the "
            "project folder (tasks.py beside pipeline.yaml for tasks.get) or of src/",
        )
    return Source(path, "function", text)

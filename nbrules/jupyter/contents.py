"""A jupytext contents manager that shows pipeline notebooks as the pipeline runs them.

Opening a pipeline notebook (a ``.py`` file of a project's notebooks folder that
declares ``upstream``/``product``) adds, right after its ``parameters`` cell, the
cell a build with the chosen profile injects — resolved upstream and product paths,
config values — so the notebook runs cell by cell in the kernel. Saving writes the
source without it. Everything else (other files, other notebooks, pairing) is
jupytext's own behaviour, untouched.

Opening one notebook reads only what its cell needs: the project's config files,
the notebook's declaration and its upstreams' declarations — never the other
notebooks of the project. A project error (a bad config value, an unknown upstream)
does not stop the notebook from opening: the cell then holds the error, as comments.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from jupytext import AsyncTextFileContentsManager
from traitlets import Unicode, default

from ..common.errors import NbrulesError
from ..common.notebooks import INJECTED_TAG, is_injected, parameters_cell_index
from ..plan.inject import inject
from ..snakemake.injection import make_product_folders, notebook_cell
from ..snakemake.project import DEFAULT_PROFILE

#: Environment variable naming the profile (the trait wins when set).
ENV_PROFILE = "NBRULES_PROFILE"
#: Metadata key marking the cells this manager added (and so removes on save).
MARK = "nbrules"


class NbrulesContentsManager(AsyncTextFileContentsManager):  # type: ignore[misc]
    """Jupytext's contents manager, plus the injected cell of pipeline notebooks."""

    profile = Unicode(
        help="The profile whose config the injected cell shows "
        f"(default: ${ENV_PROFILE}, else '{DEFAULT_PROFILE}')."
    ).tag(config=True)

    @default("profile")
    def _default_profile(self) -> str:
        return os.environ.get(ENV_PROFILE) or DEFAULT_PROFILE

    async def get(
        self, path: str, content: bool = True, type: str | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        model: dict[str, Any] = await super().get(path, content=content, type=type, **kwargs)
        if content and model.get("type") == "notebook" and path.endswith(".py"):
            model["content"] = self.with_cell(model["content"], path)
        return model

    async def save(self, model: dict[str, Any], path: str = "") -> dict[str, Any]:
        if model.get("type") == "notebook" and isinstance(model.get("content"), dict):
            model = {**model, "content": without_added_cells(model["content"])}
        saved: dict[str, Any] = await super().save(model, path)
        return saved

    def with_cell(self, nb: Any, path: str) -> Any:
        """``nb`` with the injected cell, if it is a pipeline notebook."""
        if parameters_cell_index(nb) is None:
            return nb
        source = Path(self._get_os_path(path.strip("/")))
        try:
            cell = notebook_cell(source, self.profile)
            if cell is None:
                return nb
            make_product_folders(cell)
            code = cell.code
        except (NbrulesError, OSError) as error:
            self.log.warning("nbrules: %s: %s", path, error)
            code = error_code(error, self.profile)
        nb = inject(nb, code, source)
        for cell in nb.cells:
            if is_injected(cell):
                cell.metadata[MARK] = {"profile": self.profile}
        return nb


def error_code(error: Exception, profile: str) -> str:
    """The cell shown when the injected cell cannot be computed: the error, as comments."""
    text = error.render() if isinstance(error, NbrulesError) else str(error)
    lines = [f"# nbrules could not compute the injected cell for profile {profile!r}:"]
    return "\n".join([*lines, *(f"# {line}" for line in text.splitlines())])


def without_added_cells(nb: dict[str, Any]) -> dict[str, Any]:
    """A notebook model without the cells this manager added."""
    cells = [cell for cell in nb.get("cells", []) if not _added(cell)]
    return {**nb, "cells": cells}


def _added(cell: dict[str, Any]) -> bool:
    metadata = cell.get("metadata") or {}
    return MARK in metadata and INJECTED_TAG in (metadata.get("tags") or [])

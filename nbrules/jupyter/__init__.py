"""The Jupyter server extension: pipeline notebooks open with the cell a build injects.

Enable it once (it is off until then)::

    jupyter server extension enable nbrules

JupyterLab, Notebook 7 and ``jupyter server`` then use :class:`NbrulesContentsManager`
(jupytext's contents manager, plus the injected cell). Choose the profile with
``NBRULES_PROFILE=dev jupyter lab`` or ``--NbrulesContentsManager.profile=dev``
(default ``sample``).

The extension only chooses the contents manager: it links before the server
creates one, so the server starts with ours instead of swapping it afterwards.
"""

from __future__ import annotations

from typing import Any

from .contents import NbrulesContentsManager


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "nbrules.jupyter"}]


def _link_jupyter_server_extension(serverapp: Any) -> None:
    """Make the server create our contents manager (it has not created one yet)."""
    current = serverapp.contents_manager_class
    if isinstance(current, type) and issubclass(current, NbrulesContentsManager):
        return
    if current.__name__ not in _REPLACEABLE:
        serverapp.log.warning(
            "nbrules: replacing the contents manager %s with NbrulesContentsManager",
            current.__name__,
        )
    serverapp.contents_manager_class = NbrulesContentsManager


def _load_jupyter_server_extension(serverapp: Any) -> None:
    manager = serverapp.contents_manager
    if isinstance(manager, NbrulesContentsManager):
        serverapp.log.info(
            "nbrules: pipeline notebooks open with the injected cell of profile '%s'",
            manager.profile,
        )


#: Contents managers ours stands in for without a warning: the server's defaults and
#: jupytext's (ours is jupytext's, plus the injected cell).
_REPLACEABLE = frozenset(
    {
        "AsyncLargeFileManager",
        "LargeFileManager",
        "AsyncFileContentsManager",
        "FileContentsManager",
        "AsyncTextFileContentsManager",
        "TextFileContentsManager",
        "AsyncJupytextContentsManager",
        "SyncJupytextContentsManager",
    }
)

__all__ = ["NbrulesContentsManager"]

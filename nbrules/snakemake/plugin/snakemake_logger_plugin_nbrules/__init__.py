"""Snakemake's name for nbrules' logger plugin (``--logger nbrules``).

Snakemake discovers logger plugins as top-level modules named
``snakemake_logger_plugin_<name>``; this folder is installed as one (see
``pyproject.toml``). The handler lives in :mod:`nbrules.snakemake.console`.
"""

from nbrules.snakemake.console import LogHandler

__all__ = ["LogHandler"]

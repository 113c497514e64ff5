"""A project's config for one profile, read the way Snakemake would, without Snakemake.

Tools that do not run a build — ``nbrules inject``, ``nbrules status``, the Jupyter
extension — need the ``config`` a build with ``--profile NAME`` would see, in well
under a second (importing Snakemake alone costs more). They read:

- the Snakefile's ``configfile:`` directives (paths relative to the working
  directory), in order;
- the profile's ``config.yaml``: its ``configfile:`` (one path or a list; relative to
  the profile folder when the file exists there) and ``config:`` (``KEY=VALUE``
  strings, YAML values, or a mapping);

merged as Snakemake merges them (later files win, nested mappings are updated key
by key). A Snakefile that builds ``config`` in Python code is beyond this reader:
those tools then see only the files.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ..common.errors import ConfigError
from ..common.text import did_you_mean
from ..common.yaml import read_yaml
from .commandline import SNAKEFILES, profile_settings

_CONFIGFILE = re.compile(
    r"""^configfile:\s*(?P<quote>["'])(?P<path>.+?)(?P=quote)\s*(?:#.*)?$""", re.MULTILINE
)
#: The profile a tool uses when none is named (the smoke-test data).
DEFAULT_PROFILE = "sample"


@dataclass(frozen=True, slots=True)
class ProjectConfig:
    """What a build of ``snakefile`` with ``profile`` would see as ``config``."""

    root: Path
    snakefile: Path
    profile: Path | None
    config: Mapping[str, Any]
    files: tuple[Path, ...]

    @property
    def basedir(self) -> Path:
        """The folder config paths are relative to: the Snakefile's."""
        return self.snakefile.parent


def find_snakefile(root: Path) -> Path:
    """The Snakefile plain ``snakemake`` would use in ``root``."""
    for name in SNAKEFILES:
        if (root / name).is_file():
            return root / name
    raise ConfigError(
        "no Snakefile here",
        path=root,
        hint=f"run this in the project folder (one of: {', '.join(SNAKEFILES)})",
    )


def profile_folder(name: str, root: Path, snakefile: Path | None = None) -> Path:
    """``profiles/NAME`` (or a path to a profile folder), as Snakemake finds a profile."""
    candidates = [Path(name), root / name, root / "profiles" / name]
    if snakefile is not None:
        candidates.append(snakefile.parent / "profiles" / name)
    for folder in candidates:
        if (folder / "config.yaml").is_file():
            return folder
    known = sorted(p.name for p in (root / "profiles").glob("*") if (p / "config.yaml").is_file())
    raise ConfigError(
        f"no profile '{name}'", path=root / "profiles", hint=did_you_mean(name, known, "profiles")
    )


def default_profile(root: Path) -> str | None:
    """:data:`DEFAULT_PROFILE` if the project has such a profile, else no profile."""
    return DEFAULT_PROFILE if (root / "profiles" / DEFAULT_PROFILE).is_dir() else None


def read_project(root: Path, profile: str | None = DEFAULT_PROFILE) -> ProjectConfig:
    """The config of the project in ``root`` for ``profile`` (``None``: no profile)."""
    snakefile = find_snakefile(root)
    files = [root / path for path in snakefile_configfiles(snakefile)]
    folder = profile_folder(profile, root, snakefile) if profile else None
    overrides: Mapping[str, Any] = {}
    if folder is not None:
        settings = profile_settings(folder)
        files += profile_configfiles(folder, settings, root)
        overrides = _config_values(settings.get("config"), folder)
    config: dict[str, Any] = {}
    for file in files:
        data = read_yaml(file) or {}
        if not isinstance(data, Mapping):
            raise ConfigError("a config file must hold a mapping", path=file, line=1)
        update_config(config, data)
    update_config(config, overrides)
    return ProjectConfig(root, snakefile, folder, config, tuple(files))


def snakefile_configfiles(snakefile: Path) -> list[str]:
    """The paths of the Snakefile's top-level ``configfile: "…"`` directives, in order."""
    text = snakefile.read_text(encoding="utf-8")
    return [match.group("path") for match in _CONFIGFILE.finditer(text)]


def profile_configfiles(folder: Path, settings: Mapping[str, Any], root: Path) -> list[Path]:
    value = settings.get("configfile") or settings.get("configfiles") or []
    paths = [value] if isinstance(value, str) else list(value)
    found = []
    for path in paths:
        beside = folder / str(path)
        found.append(beside if beside.is_file() else root / str(path))
    return found


def _config_values(value: Any, folder: Path) -> Mapping[str, Any]:
    """A profile's ``config:``: a mapping, or ``KEY=VALUE`` strings (YAML values)."""
    if value is None:
        return {}
    if isinstance(value, Mapping):
        return value
    items = [value] if isinstance(value, str) else list(value)
    out: dict[str, Any] = {}
    for item in items:
        key, sep, text = str(item).partition("=")
        if not sep:
            raise ConfigError(
                f"profile config entry {item!r} is not KEY=VALUE",
                path=folder / "config.yaml",
                hint="config: [sample_frac=0.01]",
            )
        out[key.strip()] = yaml.safe_load(text)
    return out


def update_config(config: dict[str, Any], overwrite: Mapping[str, Any]) -> None:
    """Snakemake's merge: nested mappings are updated key by key, anything else replaced."""
    for key, value in overwrite.items():
        if isinstance(value, Mapping) and isinstance(config.get(key), dict):
            update_config(config[key], value)
        else:
            config[key] = _plain(value)


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, Sequence) and not isinstance(value, str):
        return [_plain(v) for v in value]
    return value

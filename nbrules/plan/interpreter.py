"""The Python interpreter that runs a notebook, for the parts of the key it decides.

The code digest holds the Python minor version and, with ``cache_packages: true``,
the key holds the versions of the distributions the notebook imports. Both must be
those of the interpreter that *runs the notebook* — the kernel's, which may live in
another virtualenv — not those of the process computing the key. A kernel's
interpreter is ``argv[0]`` of its kernelspec (``kernel.json`` in the Jupyter data
folders), with jupyter_client's rule that a bare ``python`` means the current one;
``python3`` with no kernelspec installed is ipykernel's native kernel, the current
interpreter too. Another interpreter is asked once per process (one subprocess).
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from ..common.errors import ConfigError

_PROBE = """
import json, sys
from importlib import metadata
owners = metadata.packages_distributions()
tops = json.loads(sys.argv[1])
out = {}
for top in tops:
    for dist in owners.get(top, []):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            pass
print(json.dumps({"python": "%d.%d" % sys.version_info[:2], "versions": out}))
"""


@dataclass(frozen=True, slots=True)
class Interpreter:
    """An interpreter by path; ``current`` when it is this process's own."""

    executable: str
    current: bool

    @property
    def python(self) -> str:
        """``major.minor``."""
        if self.current:
            return f"{sys.version_info[0]}.{sys.version_info[1]}"
        return _probe(self.executable, ()).python

    def versions(self, imports: Iterable[str], local: Iterable[str]) -> dict[str, str]:
        """``{distribution: version}`` of the third-party packages among ``imports``."""
        tops = sorted(
            {name.split(".")[0] for name in imports} - set(local) - set(sys.stdlib_module_names)
        )
        if self.current:
            return _versions_here(tops)
        return dict(_probe(self.executable, tuple(tops)).versions)


def current() -> Interpreter:
    return Interpreter(sys.executable, True)


@functools.lru_cache(maxsize=32)
def kernel_interpreter(kernel: str) -> Interpreter:
    """The interpreter of Jupyter kernel ``kernel`` (this one if it cannot be told)."""
    argv0 = _kernelspec_argv0(kernel)
    if argv0 is None or Path(argv0).name in _bare_pythons():
        return current()
    found = argv0 if os.path.isabs(argv0) else shutil.which(argv0)
    if found is None or _same_file(found, sys.executable):
        return current()
    return Interpreter(found, False)


def _bare_pythons() -> set[str]:
    major, minor = sys.version_info[:2]
    return {"python", f"python{major}", f"python{major}.{minor}"}


def _kernelspec_argv0(kernel: str) -> str | None:
    from jupyter_core.paths import jupyter_path

    for folder in jupyter_path("kernels"):
        spec = Path(folder) / kernel / "kernel.json"
        with contextlib.suppress(OSError, ValueError, KeyError, IndexError, TypeError):
            return str(json.loads(spec.read_text(encoding="utf-8"))["argv"][0])
    return None


def _same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


@dataclass(frozen=True, slots=True)
class _Probed:
    python: str
    versions: Mapping[str, str]


@functools.lru_cache(maxsize=64)
def _probe(executable: str, tops: tuple[str, ...]) -> _Probed:
    try:
        done = subprocess.run(
            [executable, "-c", _PROBE, json.dumps(list(tops))],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        data = json.loads(done.stdout)
    except (OSError, subprocess.SubprocessError, ValueError) as exc:
        raise ConfigError(
            f"cannot ask the kernel's interpreter {executable} for its version: {exc}",
            hint="check the kernel with `jupyter kernelspec list`",
        ) from exc
    versions = {str(k): str(v) for k, v in dict(data["versions"]).items()}
    return _Probed(str(data["python"]), versions)


def _versions_here(tops: Iterable[str]) -> dict[str, str]:
    owners = metadata.packages_distributions()
    versions: dict[str, str] = {}
    for top in tops:
        for dist in owners.get(top, []):
            with contextlib.suppress(metadata.PackageNotFoundError):
                versions[dist] = metadata.version(dist)
    return versions

"""Test-only fault points: ``kill -9`` of this process at a named moment.

The reliability tests (``tests/reliability/``) need to kill a job at an exact
moment — between staging a restore and moving it into place, between writing a
publish's objects and its manifest — which a signal sent from outside cannot hit
reliably. ``NBRULES_FAULT=<point>`` (or ``<point>:<task>``, to pick one notebook)
makes :func:`fault_point` send ``SIGKILL`` to its own process there. Unset, a
fault point costs one dictionary lookup. The points:

- ``publish``: after a publish wrote its objects, before the manifest;
- ``restore``: after a restore staged every file, before the first rename.
"""

from __future__ import annotations

import os
import signal

ENV_FAULT = "NBRULES_FAULT"


def fault_point(name: str, task: str = "") -> None:
    """Die here (``SIGKILL``) when ``$NBRULES_FAULT`` is ``name`` or ``name:task``."""
    wanted = os.environ.get(ENV_FAULT)
    if wanted and wanted in (name, f"{name}:{task}"):
        os.kill(os.getpid(), signal.SIGKILL)

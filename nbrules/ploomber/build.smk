# nbrules build: the Snakefile behind `nbrules build` (see nbrules/ploomber/build.py).
# The working directory is the project folder. With a pipeline.yaml its tasks become
# the rules (products relative to the project folder, logs under .nbrules/logs);
# without one, the declared notebooks of notebooks/ do.
import sys as _sys

import nbrules.snakemake as _nbrules_snakemake
import nbrules.ploomber.build as _nbrules_build
from nbrules.common.errors import NbrulesError as _NbrulesError

try:
    _nbrules_project = _nbrules_build.from_environment()
except _NbrulesError as _error:
    raise WorkflowError(_error.render()) from None

if _nbrules_project.spec is not None and not _nbrules_build.quiet():
    for _warning in _nbrules_project.spec.warnings:
        print(_warning.render(), file=_sys.stderr)

_nbrules_build.config_defaults(config, _nbrules_project)

# One rule per task; the `notebooks` rule (every product) is the default target.
_nbrules_snakemake.include(workflow, tasks=_nbrules_project.tasks,
                           basedir=_nbrules_project.root)

# nbrules: one Snakemake rule per declared notebook.
# Use it from a Snakefile with:
#     import nbrules
#     include: nbrules.snakefile
# Settings come from `config` (see nbrules/config.py); the notebook folder defaults
# to `notebooks/` beside the Snakefile. A Snakefile including this one may set
# NBRULES_TASKS (a list of nbrules.Task, e.g. from pipeline.yaml) and NBRULES_BASEDIR
# (the folder config paths are relative to) first: `nbrules build` does.
import os as _nbrules_os
import nbrules.cache as _nbrules_cache
import nbrules.rules as _nbrules_rules
from nbrules.errors import NbrulesError as _NbrulesError

# One id per build for `nbrules cache stats`; jobs inherit it through the environment.
# Never in rule params: those must be deterministic.
_nbrules_os.environ.setdefault(_nbrules_cache.ENV_BUILD, _nbrules_cache.new_build_id())

try:
    NBRULES = _nbrules_rules.rule_specs(
        config,
        globals().get("NBRULES_BASEDIR", workflow.basedir),
        tasks=globals().get("NBRULES_TASKS"),
    )
except _NbrulesError as _error:
    raise WorkflowError(_error.render()) from None

# A job whose cache key is already in the store runs locally: on a cluster, a mere
# restore is never submitted. Jobs on compute nodes skip the prediction.
if not getattr(workflow, "remote_exec", False):
    NBRULES = _nbrules_rules.mark_cache_hits(NBRULES)


rule notebooks:
    """Every product of every notebook."""
    input:
        _nbrules_rules.all_products(NBRULES),


for _nbr in NBRULES:

    rule:
        name:
            _nbr.name
        input:
            _nbr.input,
        output:
            **_nbr.output,
        log:
            _nbr.log,
        params:
            **_nbr.params,
        threads: _nbr.threads
        resources:
            **_nbr.resources,
        group:
            _nbr.group
        localrule: _nbr.local
        shell:
            _nbr.shell

# nbrules: one Snakemake rule per declared notebook.
# Use it from a Snakefile with:
#     import nbrules
#     include: nbrules.snakefile
# Settings come from `config` (see nbrules/config.py); the notebook folder defaults
# to `notebooks/` beside the Snakefile.
import nbrules.rules as _nbrules_rules
from nbrules.errors import NbrulesError as _NbrulesError

try:
    NBRULES = _nbrules_rules.rule_specs(config, workflow.basedir)
except _NbrulesError as _error:
    raise WorkflowError(_error.render()) from None


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
        shell:
            _nbr.shell

# nbrules: one Snakemake rule per declared notebook.
# Use it from a Snakefile with:
#     import nbrules
#     nbrules.include(workflow)        (or: include: nbrules.snakefile)
# Settings come from `config` (see nbrules/plan/settings.py); the notebook folder
# defaults to `notebooks/` beside the Snakefile. Everything is computed by
# nbrules.snakemake.rules_for; this file only declares the rules.
import nbrules.snakemake as _nbrules

_NBRULES = _nbrules.rules_for(workflow, config)


rule notebooks:
    """Every product of every notebook."""
    input:
        _nbrules.all_products(_NBRULES),


for _nbr in _NBRULES:

    rule:
        name:
            _nbr.name
        input:
            _nbr.input,
        output:
            **_nbrules.outputs(_nbr),
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

"""The Ploomber front end: ``pipeline.yaml`` projects built by ``nbrules build``.

- :mod:`.env`: ``env.yaml`` and ``{{placeholders}}`` (sandboxed Jinja);
- :mod:`.keys`: which ``pipeline.yaml`` keys are honoured, warned or refused;
- :mod:`.tasks`: one task entry → draft tasks (grids included);
- :mod:`.spec`: a whole ``pipeline.yaml`` → validated core :class:`Task` objects;
- :mod:`.build`: the ``nbrules build`` command and its ``build.smk``.

It produces the same :class:`~nbrules.plan.declarations.Task` objects as native
notebooks and drives Snakemake through the adapter (:mod:`nbrules.snakemake`).
"""

"""The run layer: one Snakemake job, restore or execute.

:mod:`.job` computes the job's cache key, restores its products from the store on a
hit, or executes the notebook (:mod:`.execute`, through an engine), checks its
products (:mod:`.checks`, :mod:`.tablechecks`) and publishes them on a miss. It
builds on the plan layer (job specs, keys) and the cache; only
:mod:`nbrules.engines` below it talks to kernels.
"""

"""The plan layer: what runs, with which inputs, products and cache key.

declarations (a notebook's parameters cell, with its checks and report) → graph
(a validated DAG) → settings (typed config) → jobspec (one resolved job) →
resources (threads, memory, …) → keys (a job's cache key parts) → predict (cache
hits known at parse time) → inject (the cell the pipeline injects). Imports no
engine and no Snakemake: the Snakemake adapter and the run layer build on it.
"""

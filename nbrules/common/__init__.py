"""The bottom layer: the error tree, atomic file writes, YAML with line numbers,
jupytext notebook text, and small text helpers (canonical JSON, did-you-mean).

Nothing here imports another nbrules layer.
"""

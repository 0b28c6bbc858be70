"""Clearing models that register themselves, one file each.

A module here calls ``interbank.sim.clearing.register_clearing(name, recovery, params)`` when it is
imported; ``interbank.sim.clearing`` imports every module of this package, so a new model is one
new file (and its test): ``clearing: {model: NAME, params: {...}}`` in a scenario then uses it.
``bankruptcy_cost.py`` is the example the docs' "Extending" page shows.
"""

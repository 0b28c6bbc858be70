"""Network generators that register themselves, one file each.

A module here calls ``interbank.sim.network.register_network(name, draw, params)`` when it is
imported; ``interbank.sim.network`` imports every module of this package, so a new generator is
one new file (and its test): ``network: {type: NAME, params: {...}}`` in a scenario then uses it.
``ring.py`` is the example the docs' "Extending" page shows.
"""

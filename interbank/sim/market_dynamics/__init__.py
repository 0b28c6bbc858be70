"""Market dynamics that register themselves, one file each.

A module here calls ``interbank.sim.market.register_dynamic(name, step, params)`` when it is
imported; ``interbank.sim.market`` imports every module of this package, so a new dynamic is one
new file (and its test): ``markets: {dynamic: {type: NAME, params: {...}}}`` in a scenario then
uses it. ``regime_switching.py`` is the example the docs' "Extending" page shows.
"""

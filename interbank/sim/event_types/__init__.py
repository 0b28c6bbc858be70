"""Event types that register themselves, one file each.

A module here declares its data (a TypedDict) and calls ``interbank.sim.events.register_event``
when it is imported; ``interbank.sim.events`` imports every module of this package, so a new event
type is one new file (and its test): the JSON Schema (``interbank schema``), the served vocabulary
and the terminal's and the page's feeds then know it. Its producer emits it with
``ctx.log.emit(ctx.t, NAME, data)``. ``regime_switch.py`` is the example the docs' "Extending"
page shows (emitted by the ``regime_switching`` market dynamic).
"""

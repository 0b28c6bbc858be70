"""Rule policies that register themselves, one file each.

A module here decorates its policy class with ``interbank.policies.registry.register_policy(name,
grid=...)``; ``interbank.policies`` imports every module of this package, so a new rule is one new
file (and its test): ``interbank simulate --policy NAME``, ``interbank evaluate`` (tuned over its
grid), the API and the page's menu then offer it. ``capital_guard.py`` is the example the docs'
"Extending" page shows.
"""

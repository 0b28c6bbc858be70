"""The registry of baseline policies: one decorator declares a rule, its parameters and its grid.

``@register_policy(name, grid={...}, bounds={...})`` on a policy class is all a rule needs: its
parameters are its constructor's keyword arguments with their defaults, its grid the values
``interbank evaluate`` tunes it over on training seeds, its bounds the values a parameter may take
(a threshold on an observation feature: that feature's range, ``observation.feature_range``). Everything else derives from ``POLICIES``: ``BASELINES``,
``RULES`` and ``RULE_GRIDS`` (``interbank.policies``), the CLI's ``--policy`` choices, evaluate's
tuning, the served vocabulary (``GET /api/vocabulary``) and the server's request model. The
shipped rules are in ``interbank/policies/baselines.py``; more register themselves from
``interbank/policies/rules/`` (one file each, ``capital_guard.py`` the example).
"""

from __future__ import annotations

import importlib
import inspect
import math
import pkgutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

C = TypeVar("C", bound=type)


@dataclass(frozen=True)
class Baseline:
    """A registered baseline policy.

    ``name``: how the CLI, the API and evaluate call it; ``cls``: the policy class (built as
    ``cls(**params)``, or ``cls(seed, ...)`` when its constructor takes ``seed``); ``grid``:
    parameter -> the values evaluate tunes over (empty: nothing to tune); ``rule``: a transparent
    reference rule (tuned by evaluate, cloned by ``train.warm_start``) rather than a benchmark
    such as ``random`` or ``hold``; ``bounds``: parameter -> (low, high), inclusive, None where
    unbounded (a parameter not named takes any finite number)."""

    name: str
    cls: type
    grid: dict[str, tuple[float, ...]]
    rule: bool
    bounds: dict[str, tuple[float | None, float | None]] = field(default_factory=dict)

    def parameters(self) -> dict[str, float]:
        """The constructor's keyword parameters with their defaults (``seed`` is the run's, not one)."""
        return {p.name: float(p.default) for p in inspect.signature(self.cls.__init__).parameters.values()
                if p.name not in ("self", "seed") and p.default is not inspect.Parameter.empty}

    def takes_seed(self) -> bool:
        return "seed" in inspect.signature(self.cls.__init__).parameters

    def out_of_bounds(self, key: str, value: float) -> str | None:
        """Why ``value`` is not a value parameter ``key`` may take (None when it is one)."""
        low, high = self.bounds.get(key, (None, None))
        if low is not None and value < low:
            return f"at least {low:g}"
        if high is not None and value > high:
            return f"at most {high:g}"
        return None


POLICIES: dict[str, Baseline] = {}
"""Every baseline by name, in registration order (the shipped ones first)."""


def register_policy(name: str, grid: Mapping[str, tuple[float, ...]] | None = None,
                    rule: bool = True,
                    bounds: Mapping[str, tuple[float | None, float | None]] | None = None) -> Callable[[C], C]:
    """Class decorator: register the policy class under ``name`` with its tuning ``grid``
    (parameter -> values; every parameter must be a keyword of the constructor, every value a
    finite number) and its parameters' ``bounds`` (parameter -> (low, high), inclusive, None
    where unbounded; the defaults and the grid must lie within them). A name already taken or a
    grid or bounds that do not fit is an error at import."""

    def decorate(cls: C) -> C:
        if name in POLICIES:
            raise ValueError(f"policy {name!r} is already registered")
        entry = Baseline(name, cls, {k: tuple(float(x) for x in v) for k, v in dict(grid or {}).items()}, rule,
                         {k: (None if lo is None else float(lo), None if hi is None else float(hi))
                          for k, (lo, hi) in dict(bounds or {}).items()})
        known = entry.parameters()
        for key, values in entry.grid.items():
            if key not in known:
                raise ValueError(f"policy {name}: grid parameter {key!r} is not a constructor parameter ({', '.join(known) or 'none'})")
            if not values or not all(math.isfinite(x) for x in values):
                raise ValueError(f"policy {name}: grid {key} needs one or more finite numbers, got {values!r}")
        for key, (low, high) in entry.bounds.items():
            if key not in known:
                raise ValueError(f"policy {name}: bounded parameter {key!r} is not a constructor parameter ({', '.join(known) or 'none'})")
            if low is not None and high is not None and low > high:
                raise ValueError(f"policy {name}: bounds of {key} are empty ({low:g} > {high:g})")
            for value in (known[key], *entry.grid.get(key, ())):
                if (why := entry.out_of_bounds(key, value)) is not None:
                    raise ValueError(f"policy {name}: {key} = {value:g} (default or grid) must be {why}")
        POLICIES[name] = entry
        return cls

    return decorate


def load_rules(package: str = "interbank.policies.rules") -> None:
    """Import every module of ``package``: each registers its rule when imported."""
    pkg = importlib.import_module(package)
    for module in pkgutil.iter_modules(pkg.__path__):
        importlib.import_module(f"{package}.{module.name}")

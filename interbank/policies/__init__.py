"""Policies: the batch interface and the baselines.

``make_policy(name, seed, **params)`` builds a baseline by name: ``random``, ``hold``,
``heuristic``, ``hoard``, ``lend_surplus``, ``invest_momentum``, ``buy_below_path``, ``carry``; ``params`` are the rule's
parameters (``RULE_GRIDS`` lists the tunable ones).
"""

from __future__ import annotations

import inspect
import math
from typing import Any

from interbank.policies.base import Policy, act_on_env
from interbank.policies.baselines import (
    RULE_GRIDS, BuyBelowPathPolicy, CarryPolicy, HeuristicPolicy, HoardPolicy, HoldPolicy, InvestMomentumPolicy,
    LendSurplusPolicy, RandomPolicy,
)

BASELINES: dict[str, type] = {
    "random": RandomPolicy, "hold": HoldPolicy, "heuristic": HeuristicPolicy, "hoard": HoardPolicy,
    "lend_surplus": LendSurplusPolicy, "invest_momentum": InvestMomentumPolicy,
    "buy_below_path": BuyBelowPathPolicy, "carry": CarryPolicy,
}

# baselines that are benchmarks rather than rules: nothing to tune, nothing to clone
TRIVIAL: tuple[str, ...] = ("random", "hold")
# the transparent reference rules (tuned by ``evaluate``, cloned by ``train.warm_start``)
RULES: tuple[str, ...] = tuple(name for name in BASELINES if name not in TRIVIAL)


def policy_parameters(name: str) -> dict[str, float]:
    """A baseline's parameters with their defaults, read from its constructor (``random``'s seed
    is the run's seed, not a parameter)."""
    cls = BASELINES[name]
    return {p.name: float(p.default) for p in inspect.signature(cls.__init__).parameters.values()
            if p.name not in ("self", "seed") and p.default is not inspect.Parameter.empty}


def policy_catalogue() -> list[dict[str, Any]]:
    """Every baseline: name, parameters (name -> default), whether it is a rule, and one line saying what it does."""
    return [{"name": name, "params": policy_parameters(name), "rule": name in RULES,
             "description": (inspect.getdoc(cls) or "").split("\n\n")[0].replace("\n", " ").replace("``", "")}
            for name, cls in BASELINES.items()]


def check_policy_params(name: str, params: dict[str, Any]) -> dict[str, float]:
    """``params`` for baseline ``name``, checked: known names, finite numbers. Raises ValueError
    with one line naming the parameter and the choices."""
    known = policy_parameters(name)
    out: dict[str, float] = {}
    for key, value in params.items():
        if key not in known:
            takes = f"takes {', '.join(known)}" if known else "takes no parameters"
            raise ValueError(f"policy {name} has no parameter {key!r}; it {takes}")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ValueError(f"policy {name}: {key} must be a finite number, got {value!r}")
        out[key] = float(value)
    return out


def make_policy(name: str, seed: int | None = None, **params: float) -> Policy:
    """A baseline policy by name; unknown names raise ValueError listing the choices."""
    if name not in BASELINES:
        raise ValueError(f"unknown policy {name!r}; choose one of {', '.join(BASELINES)}")
    cls = BASELINES[name]
    return cls(seed) if cls is RandomPolicy else cls(**params)


__all__ = [
    "BASELINES", "RULES", "RULE_GRIDS", "TRIVIAL", "check_policy_params", "policy_catalogue", "policy_parameters", "BuyBelowPathPolicy", "CarryPolicy", "HeuristicPolicy", "HoardPolicy", "HoldPolicy", "InvestMomentumPolicy",
    "LendSurplusPolicy", "Policy", "RandomPolicy", "act_on_env", "make_policy",
]

"""Policies: the batch interface and the baselines.

``make_policy(name, seed, **params)`` builds a baseline by name: ``random``, ``hold``,
``heuristic``, ``hoard``, ``lend_surplus``, ``invest_momentum``, ``buy_below_path``, ``carry``; ``params`` are the rule's
parameters (``RULE_GRIDS`` lists the tunable ones).
"""

from __future__ import annotations

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


def make_policy(name: str, seed: int | None = None, **params: float) -> Policy:
    """A baseline policy by name; unknown names raise ValueError listing the choices."""
    if name not in BASELINES:
        raise ValueError(f"unknown policy {name!r}; choose one of {', '.join(BASELINES)}")
    cls = BASELINES[name]
    return cls(seed) if cls is RandomPolicy else cls(**params)


__all__ = [
    "BASELINES", "RULE_GRIDS", "BuyBelowPathPolicy", "CarryPolicy", "HeuristicPolicy", "HoardPolicy", "HoldPolicy", "InvestMomentumPolicy",
    "LendSurplusPolicy", "Policy", "RandomPolicy", "act_on_env", "make_policy",
]

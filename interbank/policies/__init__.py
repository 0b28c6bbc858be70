"""Policies: the batch interface and the baselines.

``make_policy(name, seed)`` builds a baseline by name: ``random``, ``hold``, ``heuristic``, ``hoard``, ``lend_surplus``.
"""

from __future__ import annotations

from interbank.policies.base import Policy, act_on_env
from interbank.policies.baselines import HeuristicPolicy, HoardPolicy, HoldPolicy, LendSurplusPolicy, RandomPolicy

BASELINES: dict[str, type] = {
    "random": RandomPolicy, "hold": HoldPolicy, "heuristic": HeuristicPolicy, "hoard": HoardPolicy,
    "lend_surplus": LendSurplusPolicy,
}


def make_policy(name: str, seed: int | None = None) -> Policy:
    """A baseline policy by name; unknown names raise ValueError listing the choices."""
    if name not in BASELINES:
        raise ValueError(f"unknown policy {name!r}; choose one of {', '.join(BASELINES)}")
    cls = BASELINES[name]
    return cls(seed) if cls is RandomPolicy else cls()


__all__ = ["BASELINES", "HeuristicPolicy", "HoardPolicy", "HoldPolicy", "LendSurplusPolicy", "Policy", "RandomPolicy", "act_on_env", "make_policy"]

"""Policies: the batch interface and the baselines.

``make_policy(name, seed, **params)`` builds a baseline by name: ``random``, ``hold``,
``heuristic``, ``hoard``, ``lend_surplus``, ``invest_momentum``, ``buy_below_path``, ``carry``
and the rules registered from ``interbank/policies/rules/``; ``params`` are the rule's parameters
(``RULE_GRIDS`` lists the tunable ones). Every list here derives from the registry
(``interbank.policies.registry``), where ``@register_policy`` declares a rule and its grid.
"""

from __future__ import annotations

import inspect
import math
from typing import Any

from interbank.policies.base import Policy, act_on_env
from interbank.policies.baselines import (
    BuyBelowPathPolicy, CarryPolicy, HeuristicPolicy, HoardPolicy, HoldPolicy, InvestMomentumPolicy,
    LendSurplusPolicy, RandomPolicy,
)
from interbank.policies.registry import POLICIES, load_rules, register_policy

load_rules()

BASELINES: dict[str, type] = {name: entry.cls for name, entry in POLICIES.items()}
# the tuning grid of each rule with parameters worth tuning (what ``evaluate`` tunes on training seeds)
RULE_GRIDS: dict[str, dict[str, tuple[float, ...]]] = {name: e.grid for name, e in POLICIES.items() if e.grid}
# baselines that are benchmarks rather than rules: nothing to tune, nothing to clone
TRIVIAL: tuple[str, ...] = tuple(name for name, entry in POLICIES.items() if not entry.rule)
# the transparent reference rules (tuned by ``evaluate``, cloned by ``train.warm_start``)
RULES: tuple[str, ...] = tuple(name for name in BASELINES if name not in TRIVIAL)
# the baseline played when none is named (``simulate``, the server's start, the page's menu)
DEFAULT_POLICY = "heuristic"
assert DEFAULT_POLICY in BASELINES


def policy_parameters(name: str) -> dict[str, float]:
    """A baseline's parameters with their defaults, read from its constructor (``random``'s seed
    is the run's seed, not a parameter)."""
    return POLICIES[name].parameters()


def policy_catalogue() -> list[dict[str, Any]]:
    """Every baseline: name, parameters (name -> default), their bounds (name -> [low, high],
    null where unbounded; parameters not named take any finite number), whether it is a rule, and
    one line saying what it does."""
    return [{"name": name, "params": policy_parameters(name),
             "bounds": {k: list(v) for k, v in POLICIES[name].bounds.items()}, "rule": name in RULES,
             "description": _summary(inspect.getdoc(cls) or "")}
            for name, cls in BASELINES.items()]


def _summary(doc: str) -> str:
    """A docstring's first paragraph on one line, with the list it introduces when it ends in ":"
    (the heuristic's rules: without them the line stops at "first rule that applies wins:")."""
    paragraphs = doc.split("\n\n")
    text = paragraphs[0] + (" " + paragraphs[1] if paragraphs[0].endswith(":") and len(paragraphs) > 1 else "")
    return text.replace("\n", " ").replace("``", "")


def check_policy_params(name: str, params: dict[str, Any]) -> dict[str, float]:
    """``params`` for baseline ``name``, checked: known names, finite numbers within the
    parameter's bounds. Raises ValueError with one line naming the parameter and the choices."""
    known = policy_parameters(name)
    out: dict[str, float] = {}
    for key, value in params.items():
        if key not in known:
            takes = f"takes {', '.join(known)}" if known else "takes no parameters"
            raise ValueError(f"policy {name} has no parameter {key!r}; it {takes}")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ValueError(f"policy {name}: {key} must be a finite number, got {value!r}")
        if (why := POLICIES[name].out_of_bounds(key, float(value))) is not None:
            raise ValueError(f"policy {name}: {key} must be {why}, got {value:g}")
        out[key] = float(value)
    return out


def make_policy(name: str, seed: int | None = None, **params: float) -> Policy:
    """A baseline policy by name; unknown names raise ValueError listing the choices, and
    parameters are checked as ``check_policy_params`` checks them."""
    if name not in BASELINES:
        raise ValueError(f"unknown policy {name!r}; choose one of {', '.join(BASELINES)}")
    entry = POLICIES[name]
    params = check_policy_params(name, params)
    return entry.cls(seed, **params) if entry.takes_seed() else entry.cls(**params)


def recorded_as(name: str, params: dict[str, float], policy: Policy) -> dict[str, Any]:
    """What a run's init event records of baseline ``name`` made with ``params`` (beside
    ``run.policy``, the policy's own name, which may carry its parameters: ``carry(0.1)``), so
    that ``replay --verify`` makes the same policy again: ``baseline`` and ``params`` when the
    name alone would not."""
    return {"baseline": name, "params": dict(params)} if params or policy.name != name else {}


__all__ = [
    "BASELINES", "DEFAULT_POLICY", "POLICIES", "RULES", "RULE_GRIDS", "TRIVIAL", "register_policy", "check_policy_params", "policy_catalogue", "policy_parameters", "recorded_as", "BuyBelowPathPolicy", "CarryPolicy", "HeuristicPolicy", "HoardPolicy", "HoldPolicy", "InvestMomentumPolicy",
    "LendSurplusPolicy", "Policy", "RandomPolicy", "act_on_env", "make_policy",
]

"""Rule central banks: transparent policies for the ``central_bank`` agent, the ones a learned
central bank must beat.

Each rule maps the central bank's observation (``CB_FEATURES``, read by name) and mask to one
move (an index into ``CB_ACTIONS``); a move the mask forbids becomes ``hold``. Rates and buffers
move one step per decision toward the rule's target (a rule with a target band holds inside it).

- ``never``: standing facilities only: the rate, the buffer and the haircuts stay as configured.
- ``taylor``: target rate = ``neutral`` + ``funding`` x (funding demand - 0.5) + ``credit`` x
  credit gap (a Taylor rule with funding stress and the credit cycle in place of inflation and
  output: demand for reserves above supply, or a credit boom, raise the rate).
- ``ccyb``: target buffer = ``max_buffer`` x clip((credit gap - ``threshold``) / (``full`` -
  ``threshold``), 0, 1) (the Basel Committee's guide: the buffer starts when the credit gap
  passes 2 points and is full at 10), released at once (one step per decision down to 0) in
  stress: funding demand above ``stress`` or fire sales above ``fire_sale``.
- ``bagehot``: in stress (funding demand above ``stress``, fire sales above ``fire_sale`` or
  facility use above ``facility``): widen the facility's haircuts (lend freely against good
  collateral at the penalty rate), and once they are wide lend to the most systemic banks; in
  calm, haircuts back to normal.

``CENTRAL_BANK_RULE_GRIDS`` lists the small grid each rule is tuned over. Every parameter has a
range (its field's ``range``, ``param_range``): a threshold on a feature lies within the feature's
bounds (``CB_FEATURES``), a rate in [0, 1] a year, a Taylor coefficient in [0, 10] (the sign the
rule documents: stress and credit booms raise the rate; 10 already moves the target across the
whole rate range for a tenth of the feature's span). ``check_rule_params`` (the config, the CLI and
the HTTP start all go through it) refuses names, non-numbers, NaN, infinities and values outside.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field, fields
from typing import Any, Callable

import numpy as np

from interbank.envs.central_bank_observation import BUFFER_SCALE, CB_FEATURE_INDEX, RATE_SCALE
from interbank.sim.central_bank import CB_HOLD, CB_INDEX

F = CB_FEATURE_INDEX


def _param(default: float, low: float, high: float) -> Any:
    """A rule parameter with its allowed range [low, high] (checked by ``check_rule_params``)."""
    return field(default=default, metadata={"range": (low, high)})


def param_range(rule: str, name: str) -> tuple[float, float]:
    """The range [low, high] a parameter ``name`` of the rule ``rule`` must lie in."""
    return next(f.metadata["range"] for f in fields(CENTRAL_BANK_RULES[rule]) if f.name == name)


def _feature(obs: np.ndarray, name: str) -> float:
    return float(obs[F[name]])


def _allowed(mask: np.ndarray, name: str) -> int:
    """The move if the mask allows it, else hold."""
    index = CB_INDEX[name]
    return index if mask[index] else CB_HOLD


@dataclass(frozen=True)
class Never:
    """Standing facilities only: always ``hold``."""

    name = "never"

    def __call__(self, obs: np.ndarray, mask: np.ndarray) -> int:
        return CB_HOLD


@dataclass(frozen=True)
class Taylor:
    """Rate toward ``neutral`` + ``funding`` x (funding demand - 0.5) + ``credit`` x credit gap
    (annual rates; ``band``: no move while the rate is within it of the target)."""

    neutral: float = _param(0.02, 0.0, 1.0)  # an annual rate, like the policy rate
    funding: float = _param(0.04, 0.0, 10.0)
    credit: float = _param(0.1, 0.0, 10.0)
    band: float = _param(0.00125, 0.0, 1.0)
    name = "taylor"

    def __post_init__(self) -> None:
        # a negative band has no rate inside it: the rate would move at every decision, up to a bound
        if not self.band >= 0:
            raise ValueError(f"taylor: band = {self.band} must be >= 0")

    def target(self, obs: np.ndarray) -> float:
        return self.neutral + self.funding * (_feature(obs, "funding_demand") - 0.5) + self.credit * _feature(obs, "credit_gap")

    def __call__(self, obs: np.ndarray, mask: np.ndarray) -> int:
        rate = _feature(obs, "policy_rate") / RATE_SCALE
        gap = self.target(obs) - rate
        if gap > self.band:
            return _allowed(mask, "rate_up")
        if gap < -self.band:
            return _allowed(mask, "rate_down")
        return CB_HOLD


def _stressed(obs: np.ndarray, stress: float, fire_sale: float) -> bool:
    return _feature(obs, "funding_demand") > stress or _feature(obs, "fire_sales") > fire_sale


@dataclass(frozen=True)
class Ccyb:
    """Buffer toward ``max_buffer`` x clip((credit gap - ``threshold``) / (``full`` -
    ``threshold``), 0, 1); released (down to 0) while funding demand exceeds ``stress`` or fire
    sales (over initial equity, per step) exceed ``fire_sale``."""

    threshold: float = _param(0.02, -1.0, 1.0)  # on the credit gap, in [-1, 1]
    full: float = _param(0.10, -1.0, 1.0)
    max_buffer: float = _param(0.025, 0.0, 0.5)  # as config.central_bank.max_ccyb
    stress: float = _param(0.7, 0.0, 1.0)  # on funding demand, in [0, 1]
    fire_sale: float = _param(0.005, 0.0, 5.0)  # on fire sales / initial equity, in [0, 5]
    name = "ccyb"

    def __post_init__(self) -> None:
        if not self.max_buffer >= 0:
            raise ValueError(f"ccyb: max_buffer = {self.max_buffer} must be >= 0")
        if self.full <= self.threshold:
            raise ValueError(f"ccyb: full = {self.full} must be above threshold = {self.threshold}")

    def target(self, obs: np.ndarray) -> float:
        if _stressed(obs, self.stress, self.fire_sale):
            return 0.0
        share = (_feature(obs, "credit_gap") - self.threshold) / (self.full - self.threshold)
        return self.max_buffer * float(np.clip(share, 0.0, 1.0))

    def __call__(self, obs: np.ndarray, mask: np.ndarray) -> int:
        buffer = _feature(obs, "ccyb") / BUFFER_SCALE
        target = self.target(obs)
        if target > buffer + 1e-9 and mask[CB_INDEX["ccyb_up"]]:
            return CB_INDEX["ccyb_up"]
        if target < buffer - 1e-9:
            return _allowed(mask, "ccyb_down")
        return CB_HOLD


@dataclass(frozen=True)
class Bagehot:
    """In stress (funding demand above ``stress``, fire sales above ``fire_sale`` or facility use
    above ``facility``): haircuts wide, then lend to the most systemic banks; in calm, haircuts
    back to normal."""

    stress: float = _param(0.7, 0.0, 1.0)
    fire_sale: float = _param(0.005, 0.0, 5.0)
    facility: float = _param(0.02, 0.0, 1.0)  # on facility use, in [0, 1]
    name = "bagehot"

    def __call__(self, obs: np.ndarray, mask: np.ndarray) -> int:
        stressed = _stressed(obs, self.stress, self.fire_sale) or _feature(obs, "facility_use") > self.facility
        wide = _feature(obs, "haircuts") > 0.5
        if stressed:
            return _allowed(mask, "lend_systemic") if wide else _allowed(mask, "haircuts_wide")
        return CB_HOLD if _feature(obs, "haircuts") == 0.0 else _allowed(mask, "haircuts_normal")


CENTRAL_BANK_RULES: dict[str, type] = {"never": Never, "taylor": Taylor, "ccyb": Ccyb, "bagehot": Bagehot}
"""Rule name -> its class (the parameters are its fields)."""

CENTRAL_BANK_RULE_GRIDS: dict[str, dict[str, tuple[float, ...]]] = {
    "never": {},
    "taylor": {"funding": (0.0, 0.02, 0.04, 0.08), "credit": (0.0, 0.1, 0.3)},
    "ccyb": {"threshold": (0.0, 0.02, 0.05), "stress": (0.6, 0.7, 0.85)},
    "bagehot": {"stress": (0.6, 0.7, 0.85), "facility": (0.01, 0.02, 0.05)},
}
"""The small grid each rule is tuned over (the other parameters keep their defaults)."""


def check_rule_params(rule: str, params: dict[str, Any]) -> None:
    """Raise ValueError (one line) unless ``params`` are finite numbers the rule ``rule`` takes,
    each within its range (``param_range``)."""
    if rule not in CENTRAL_BANK_RULES:
        raise ValueError(f"unknown central bank rule {rule!r}; expected one of {', '.join(CENTRAL_BANK_RULES)}")
    known = [f.name for f in fields(CENTRAL_BANK_RULES[rule])]
    unknown = sorted(set(params) - set(known))
    if unknown:
        raise ValueError(f"rule_params: {', '.join(unknown)} not a parameter of the {rule} rule "
                         f"(it takes {', '.join(known) or 'none'})")
    for name, value in params.items():
        low, high = param_range(rule, name)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"rule_params: {name} = {value!r} is not a number")
        if not (math.isfinite(value) and low <= value <= high):
            raise ValueError(f"rule_params: {name} = {value:g} must be a finite number in [{low:g}, {high:g}] for the {rule} rule")
    CENTRAL_BANK_RULES[rule](**params)  # its own checks


def make_central_bank_rule(rule: str, **params: float) -> Callable[[np.ndarray, np.ndarray], int]:
    """The rule ``rule`` with ``params`` (its defaults for the rest)."""
    check_rule_params(rule, params)
    return CENTRAL_BANK_RULES[rule](**params)


def rule_grid(rule: str) -> list[dict[str, float]]:
    """Every parameter combination of the rule's tuning grid (``[{}]`` for ``never``)."""
    grid = CENTRAL_BANK_RULE_GRIDS[rule]
    keys = list(grid)
    return [dict(zip(keys, values)) for values in itertools.product(*(grid[k] for k in keys))]


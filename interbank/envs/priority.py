"""Pluggable priority models: which of PROFIT / LIQUIDITY / STABILITY a bank should weigh now.

A priority model is any callable ``model(features) -> int[n_banks]`` where
``features`` is the float64[n_banks, N_BASE] array of
``interbank.envs.observation.base_features`` (no priority columns). The result
is appended to the observation as a one-hot, tagged on ``transaction`` events
and weights the reward.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from interbank.envs.observation import FEATURE_INDEX
from interbank.sim.actions import LIQUIDITY, PRIORITIES, PROFIT, STABILITY


class PriorityModel(Protocol):
    """Maps base features of every bank to one priority index per bank."""

    def __call__(self, features: np.ndarray) -> np.ndarray: ...


class RuleBasedPriority:
    """The transparent default.

    LIQUIDITY when the liquidity coverage ratio is below ``lcr_buffer`` times its
    minimum, the bank is short of reserves, or funding it asked for went unmet
    or it had to fire-sell last step; otherwise STABILITY when the capital ratio
    is below ``capital_buffer`` times its minimum or its losses on defaulted
    borrowers exceed ``stress_threshold`` of its initial capital; otherwise PROFIT.
    """

    def __init__(self, lcr_buffer: float = 1.2, capital_buffer: float = 1.25, stress_threshold: float = 0.1) -> None:
        self.lcr_buffer = lcr_buffer
        self.capital_buffer = capital_buffer
        self.stress_threshold = stress_threshold

    def __call__(self, features: np.ndarray) -> np.ndarray:
        f = FEATURE_INDEX
        liquid_short = (
            (features[:, f["liquidity_buffer"]] < self.lcr_buffer - 1.0) | (features[:, f["reserve_buffer"]] < 0)
            | (features[:, f["unmet_funding"]] > 0) | (features[:, f["shortfall_ratio"]] > 0)
        )
        stressed = (features[:, f["capital_buffer"]] < self.capital_buffer - 1.0) | (
            features[:, f["counterparty_losses"]] > self.stress_threshold
        )
        return np.where(liquid_short, LIQUIDITY, np.where(stressed, STABILITY, PROFIT)).astype(np.int64)


class FixedPriority:
    """Every bank always gets the same priority (for comparisons)."""

    def __init__(self, priority: int | str) -> None:
        self.priority = PRIORITIES.index(priority) if isinstance(priority, str) else int(priority)

    def __call__(self, features: np.ndarray) -> np.ndarray:
        return np.full(features.shape[0], self.priority, dtype=np.int64)


def priority_model_from_config(cfg) -> PriorityModel:  # cfg: interbank.config.PriorityConfig
    if cfg.model == "rule_based":
        return RuleBasedPriority(cfg.lcr_buffer, cfg.capital_buffer, cfg.stress_threshold)
    return FixedPriority(cfg.model.removeprefix("fixed_").upper())




class LearnedPriority:
    """A contextual bandit: a linear value Q(x, p) = W[p] . [x, 1] of each priority p for a
    bank with base features x; the bank gets the priority with the highest value.

    ``weights`` is float[3, N_BASE + 1] (PROFIT, LIQUIDITY, STABILITY rows). Inference is one
    matrix product per step for all banks. Fitted by ``interbank.train.priority``.
    """

    def __init__(self, weights: np.ndarray) -> None:
        from interbank.envs.observation import N_BASE

        weights = np.asarray(weights, dtype=np.float64)
        if weights.shape != (len(PRIORITIES), N_BASE + 1):
            raise ValueError(f"priority weights have shape {weights.shape}, expected ({len(PRIORITIES)}, {N_BASE + 1})")
        self.weights = weights

    def values(self, features: np.ndarray) -> np.ndarray:
        return features @ self.weights[:, :-1].T + self.weights[:, -1]

    def __call__(self, features: np.ndarray) -> np.ndarray:
        return np.argmax(self.values(features), axis=1).astype(np.int64)


class ExploringPriority:
    """Wraps a priority model: each bank's priority is, with probability ``epsilon``, replaced
    by a uniformly random one that it keeps for ``hold`` steps (seeded). Used while training
    so that the action policy learns to follow any priority in any state, and to collect
    the bandit's data."""

    def __init__(self, base: PriorityModel, epsilon: float, hold: int, seed: int | None = None) -> None:
        self.base, self.epsilon, self.hold = base, epsilon, hold
        self.rng = np.random.default_rng(seed)
        self.forced: np.ndarray | None = None
        self.left: np.ndarray | None = None

    def __call__(self, features: np.ndarray) -> np.ndarray:
        n = features.shape[0]
        out = self.base(features)
        if self.forced is None or self.forced.shape[0] != n:
            self.forced, self.left = np.zeros(n, np.int64), np.zeros(n, np.int64)
        start = (self.left <= 0) & (self.rng.random(n) < self.epsilon)
        self.forced[start] = self.rng.integers(0, len(PRIORITIES), int(start.sum()))
        self.left[start] = self.hold
        active = self.left > 0
        self.left[active] -= 1
        return np.where(active, self.forced, out)


__all__ = ["ExploringPriority", "FixedPriority", "LearnedPriority", "PriorityModel", "RuleBasedPriority",
           "priority_model_from_config", "PROFIT", "LIQUIDITY", "STABILITY"]

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

    LIQUIDITY when cash / assets < ``liquidity_threshold`` or the bank could not
    pay a call or withdrawal last step; otherwise STABILITY when leverage >
    ``leverage_tolerance`` * target or more than ``stress_threshold`` of its
    counterparties are gone; otherwise PROFIT.
    """

    def __init__(self, liquidity_threshold: float = 0.08, leverage_tolerance: float = 1.25, stress_threshold: float = 0.2) -> None:
        self.liquidity_threshold = liquidity_threshold
        self.leverage_tolerance = leverage_tolerance
        self.stress_threshold = stress_threshold

    def __call__(self, features: np.ndarray) -> np.ndarray:
        f = FEATURE_INDEX
        liquid_short = (features[:, f["cash_ratio"]] < self.liquidity_threshold) | (features[:, f["shortfall_ratio"]] > 0)
        stressed = (features[:, f["leverage_gap"]] > self.leverage_tolerance - 1.0) | (
            features[:, f["neighbour_defaults"]] > self.stress_threshold
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
        return RuleBasedPriority(cfg.liquidity_threshold, cfg.leverage_tolerance, cfg.stress_threshold)
    return FixedPriority(cfg.model.removeprefix("fixed_").upper())


__all__ = ["PriorityModel", "RuleBasedPriority", "FixedPriority", "priority_model_from_config", "PROFIT", "LIQUIDITY", "STABILITY"]

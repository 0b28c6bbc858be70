"""Priority-weighted rewards.

Per bank and step, three components (all per unit of the bank's initial capital
or of its assets, so they are comparable across bank sizes):

- profit = (equity_t - equity_{t-1}) / initial capital
- liquidity = 2 * min(cash / assets - liquidity_target, 0) - unpaid calls and withdrawals / initial capital
- stability = -0.1 * |leverage / target leverage - 1| - 0.5 * fraction of counterparties gone

reward = w . (profit, liquidity, stability) + survival_bonus, with weight
``focus`` on the priority in force and (1 - focus) / 2 on each of the others.
A bank that defaults gets ``-default_penalty`` on that step (and nothing else),
so defaulting early never pays: it forfeits every later survival bonus.
"""

from __future__ import annotations

import numpy as np

from interbank.envs.observation import FEATURE_INDEX

COMPONENTS: tuple[str, ...] = ("profit", "liquidity", "stability")


def reward_components(
    equity_before: np.ndarray, equity_after: np.ndarray, capital0: np.ndarray, features: np.ndarray,
    shortfall: np.ndarray, liquidity_target: float,
) -> np.ndarray:
    """float64[n_banks, 3] of (profit, liquidity, stability)."""
    f = FEATURE_INDEX
    out = np.empty((equity_before.shape[0], 3))
    out[:, 0] = (equity_after - equity_before) / capital0
    out[:, 1] = 2.0 * np.minimum(features[:, f["cash_ratio"]] - liquidity_target, 0.0) - shortfall / capital0
    out[:, 2] = -0.1 * np.abs(features[:, f["leverage_gap"]]) - 0.5 * features[:, f["neighbour_defaults"]]
    return out


def objective(components: np.ndarray, terminated: np.ndarray, survival_bonus: float, default_penalty: float) -> np.ndarray:
    """The priority-free score of a step: the three components weighted equally, plus the survival
    bonus, and ``-default_penalty`` for a bank that defaulted. Compares runs under different priorities."""
    out = components.mean(axis=1) + survival_bonus
    out[terminated] = -default_penalty
    return out


def weighted_reward(components: np.ndarray, priority: np.ndarray, focus: float, survival_bonus: float = 0.0) -> np.ndarray:
    weights = np.full(components.shape, (1.0 - focus) / 2.0)
    weights[np.arange(components.shape[0]), priority] = focus
    return (components * weights).sum(axis=1) + survival_bonus

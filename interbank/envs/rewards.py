"""A shareholder's reward, tilted by the priority in force.

Per bank and step, three components:

- profit    = (E_t - E_{t-1}) / E_0: equity growth per unit of initial capital
  (scale-free). On the step a bank defaults it is ``-max(E_{t-1}, 0) / E_0 -
  default_penalty``: limited liability, the shareholders lose what equity was
  left, plus a bounded bankruptcy cost;
- liquidity = clip(LCR / LCR_min - 1, 0, 1): the liquidity coverage buffer over the minimum;
- stability = clip(CR / CR_min - 1, 0, 1): the capital buffer over the minimum.

reward = profit + ``buffer_weight`` * (the buffer the priority asks for:
none for PROFIT, liquidity for LIQUIDITY, stability for STABILITY); a bank
that defaults gets the profit component only. Every term depends on the
bank's own balance sheet, which its actions change; nothing is charged for
what it cannot influence (no survival bonus, no initial-counterparty term).

Why defaulting never pays: the buffer terms are never negative, so a bank alive
after step t earns from then on at least (0 - E_t) / E_0 if it survives to the
end (equity cannot end below 0 without a default) and at least
-E_t / E_0 - default_penalty if it defaults later; defaulting at t + 1 earns
exactly -E_t / E_0 - default_penalty. Surviving is strictly better, defaulting
later never worse.
"""

from __future__ import annotations

import numpy as np

from interbank.envs.observation import FEATURE_INDEX
from interbank.sim.actions import PRIORITIES, PROFIT

COMPONENTS: tuple[str, ...] = tuple(p.lower() for p in PRIORITIES)  # one column per priority, in its order
_BUFFER_COLUMNS = np.array([FEATURE_INDEX["liquidity_buffer"], FEATURE_INDEX["capital_buffer"]])
"""The features clipped to [0, 1] into the liquidity and stability components."""


def reward_components(
    equity_before: np.ndarray, equity_after: np.ndarray, capital0: np.ndarray, features: np.ndarray,
    defaulted: np.ndarray, default_penalty: float,
) -> np.ndarray:
    """float64[n_banks, 3] of (profit, liquidity, stability); ``defaulted`` flags banks that
    defaulted this step."""
    out = np.empty((equity_before.shape[0], 3))
    np.divide(equity_after - equity_before, capital0, out=out[:, 0])
    np.clip(features[:, _BUFFER_COLUMNS], 0.0, 1.0, out=out[:, 1:])
    if np.count_nonzero(defaulted):
        out[:, 0] = np.where(defaulted, -np.maximum(equity_before, 0.0) / capital0 - default_penalty, out[:, 0])
        out[defaulted, 1:] = 0.0
    return out


def social_components(components: np.ndarray, welfare_change: float, live: np.ndarray) -> np.ndarray:
    """The social objective's components: the profit column replaced by the change in system
    welfare (the same for every bank live this step, the defaulting ones included), buffers kept."""
    out = components.copy()
    out[:, 0] = np.where(live, welfare_change, 0.0)
    return out


def difference_components(components: np.ndarray, credit: np.ndarray, live: np.ndarray) -> np.ndarray:
    """The difference objective's components: the profit column replaced by each bank's
    difference reward (``interbank.envs.difference``), buffers kept."""
    out = components.copy()
    out[:, 0] = np.where(live, credit, 0.0)
    return out


def objective(components: np.ndarray) -> np.ndarray:
    """The priority-free score of a step: the shareholder's profit component (with the default
    cost). Compares runs under different priorities on one scale."""
    return components[:, 0].copy()


def weighted_reward(components: np.ndarray, priority: np.ndarray, buffer_weight: float) -> np.ndarray:
    """profit + buffer_weight * the priority's buffer (PROFIT: none)."""
    rows = np.arange(components.shape[0])
    column = np.minimum(np.maximum(priority, 0), 2)  # np.clip's result for integers, without its overhead
    buffer = np.where(priority == PROFIT, 0.0, components[rows, column])
    return components[:, 0] + buffer_weight * buffer

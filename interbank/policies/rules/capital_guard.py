"""Guard the capital buffer: sell market positions while the capital ratio is close to the
regulatory minimum, lend the cash above the reserve requirement otherwise."""

from __future__ import annotations

import numpy as np

from interbank.envs.observation import FEATURE_INDEX, feature_range
from interbank.policies.registry import register_policy
from interbank.sim.actions import DIVEST, HOLD, LEND


@register_policy("capital_guard", grid={"floor": (0.25, 0.5, 1.0)}, bounds={"floor": feature_range("capital_buffer")})
class CapitalGuardPolicy:
    """Guard capital: DIVEST while the capital ratio is less than ``floor`` above the regulatory
    minimum (``capital_buffer`` < ``floor``; 0.5: 50% above it), otherwise LEND while cash exceeds
    the reserve requirement (``reserve_buffer`` > 0), else HOLD. A masked choice becomes HOLD."""

    def __init__(self, floor: float = 0.5) -> None:
        self.floor = float(floor)
        self.name = f"capital_guard({self.floor:g})"

    def reset(self, seed: int | None = None) -> None:
        pass

    def act(self, observations: np.ndarray, action_masks: np.ndarray) -> np.ndarray:
        mask = np.asarray(action_masks, dtype=bool)
        thin = observations[:, FEATURE_INDEX["capital_buffer"]] < self.floor
        surplus = observations[:, FEATURE_INDEX["reserve_buffer"]] > 0
        wanted = np.where(thin, DIVEST, np.where(surplus, LEND, HOLD))
        allowed = mask[np.arange(wanted.size), wanted]
        return np.where(allowed, wanted, HOLD).astype(np.int64)

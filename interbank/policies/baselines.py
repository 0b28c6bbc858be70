"""Baseline policies: ``random``, ``hold`` and the rule-based ``heuristic``."""

from __future__ import annotations

import numpy as np

from interbank.envs.observation import FEATURE_INDEX
from interbank.sim.actions import BORROW, DIVEST, HOLD, INVEST, LEND

_F = FEATURE_INDEX


class RandomPolicy:
    """Uniform over the actions the mask allows (seeded)."""

    name = "random"

    def __init__(self, seed: int | None = None) -> None:
        self.rng = np.random.default_rng(seed)

    def reset(self, seed: int | None = None) -> None:
        if seed is not None:
            self.rng = np.random.default_rng(seed)

    def act(self, observations: np.ndarray, action_masks: np.ndarray) -> np.ndarray:
        scores = self.rng.random(action_masks.shape) * np.asarray(action_masks, dtype=bool)
        return np.argmax(scores, axis=1).astype(np.int64)


class HoldPolicy:
    """Always HOLD: the do-nothing benchmark."""

    name = "hold"

    def reset(self, seed: int | None = None) -> None:
        pass

    def act(self, observations: np.ndarray, action_masks: np.ndarray) -> np.ndarray:
        return np.full(observations.shape[0], HOLD, dtype=np.int64)


class HeuristicPolicy:
    """The seed's old static logic, as an explicit rule set (first rule that applies wins):

    1. cash / assets < ``low_cash`` -> BORROW (call loans back) if possible, else DIVEST;
    2. the bank's best market fell more than ``stop_loss`` over 5 steps -> DIVEST;
    3. cash / assets > ``invest_cash`` and risk > ``risk_appetite`` and a market is rising -> INVEST;
    4. cash / assets > ``lend_cash`` -> LEND;
    5. otherwise HOLD.

    A rule whose action is masked falls through to the next rule.
    """

    name = "heuristic"

    def __init__(self, low_cash: float = 0.1, stop_loss: float = 0.05, invest_cash: float = 0.3,
                 risk_appetite: float = 0.5, lend_cash: float = 0.2) -> None:
        self.low_cash, self.stop_loss = low_cash, stop_loss
        self.invest_cash, self.risk_appetite, self.lend_cash = invest_cash, risk_appetite, lend_cash

    def reset(self, seed: int | None = None) -> None:
        pass

    def act(self, observations: np.ndarray, action_masks: np.ndarray) -> np.ndarray:
        obs = observations
        mask = np.asarray(action_masks, dtype=bool)
        cash = obs[:, _F["cash_ratio"]]
        mom = np.maximum(obs[:, _F["bank_index_momentum"]], obs[:, _F["fin_services_momentum"]])
        worst = np.minimum(obs[:, _F["bank_index_momentum"]], obs[:, _F["fin_services_momentum"]])
        rules = [
            (cash < self.low_cash) & mask[:, BORROW],
            (cash < self.low_cash) & mask[:, DIVEST],
            (worst < -self.stop_loss) & mask[:, DIVEST],
            (cash > self.invest_cash) & (obs[:, _F["risk"]] > self.risk_appetite) & (mom > 0) & mask[:, INVEST],
            (cash > self.lend_cash) & mask[:, LEND],
        ]
        return np.select(rules, [BORROW, DIVEST, DIVEST, INVEST, LEND], default=HOLD).astype(np.int64)

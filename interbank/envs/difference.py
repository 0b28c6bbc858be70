"""Difference rewards: each bank is paid the welfare change its own action caused.

The social objective pays every bank the same change in system welfare, so a bank's own
contribution is 1/N of its signal (Wolpert & Tumer 2002's "factoredness without
learnability"). A difference reward keeps the social goal but assigns credit:

    D_i = W(a) - W(a_-i, HOLD)

the welfare after the step everyone really took, minus the welfare after the same step with
bank i on HOLD (the default action) and everybody else unchanged. It is exact, not a first-order
estimate: the counterfactual step is re-run from a copy of the state the step started from, with
the same random draws (the copy carries the state's generator, and each step draws its shocks
before any phase reads the actions), on a shadow ``BankingSystem`` that records no events.

Cost: one extra step per live bank that did not HOLD (a bank on HOLD has ``D_i = 0`` without
a re-run). ``RewardConfig.difference_samples`` caps it at K re-runs per step: K of those banks,
drawn uniformly by a generator of its own (seeded from the episode seed and the step, so the
simulation's random stream is untouched and the same seed still gives the same rewards), are
re-run and paid ``D_i * candidates / K``; the others are paid 0 this step. Each bank's expected
payment is still its ``D_i`` (a Horvitz-Thompson estimate), at the price of variance.

Units: welfare is in initial total equity; ``D_i`` is paid per unit of the bank's own initial
capital (``D_i * sum(E_0) / E_0,i``), the scale of the selfish profit term, so a bank whose
action changed only its own equity is paid what the selfish reward pays, relative to HOLD.
"""

from __future__ import annotations

import copy

import numpy as np

from interbank.sim.actions import HOLD
from interbank.sim.system import BankingSystem


def counterfactual_welfare(shadow: BankingSystem, start, actions: np.ndarray, priority: np.ndarray | None,
                           max_steps: int) -> float:
    """Welfare after one step run from a copy of ``start`` (a ``BankState``) with ``actions``."""
    shadow.state = copy.deepcopy(start)
    shadow._figures = None  # the figures cached for another state would be wrong
    shadow.last_outcome = None
    shadow.max_steps = max_steps
    shadow.step(actions, priority)
    return shadow.welfare()


def difference_rewards(shadow: BankingSystem, start, actions: np.ndarray, priority: np.ndarray | None,
                       live: np.ndarray, welfare_after: float, max_steps: int,
                       samples: int | None = None) -> np.ndarray:
    """float64[n]: each live bank's difference reward in its own initial capital (module doc).

    ``start``: a copy of the state before the real step (the real step has been run since);
    ``actions``: the actions as executed (a masked one already HOLD, so it costs no re-run);
    ``samples``: at most this many counterfactual re-runs (None: every bank that did not HOLD)."""
    n = actions.shape[0]
    out = np.zeros(n)
    candidates = np.flatnonzero(live & (actions != HOLD))
    if candidates.size == 0:
        return out
    scale = 1.0
    if samples is not None and candidates.size > samples:
        rng = np.random.default_rng([int(start.seed or 0), int(start.t), 0xD1FF])
        picked = np.sort(rng.choice(candidates, size=samples, replace=False))
        scale = candidates.size / samples
        candidates = picked
    capital0 = start.capital0
    total0 = float(capital0.sum())
    for i in candidates.tolist():  # one re-run of the whole (vectorised) step per credited bank
        alt = actions.copy()
        alt[i] = HOLD
        out[i] = welfare_after - counterfactual_welfare(shadow, start, alt, priority, max_steps)
    out[candidates] *= scale * total0 / capital0[candidates]
    return out

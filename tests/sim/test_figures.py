"""Figures asked for some banks only are those banks' entries of the figures over every bank, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest

from interbank.config import resolve_env_config
from interbank.sim.figures import Figures, intermediation_capacity
from interbank.sim.system import BankingSystem


def _stepped(seed: int) -> BankingSystem:
    cfg = resolve_env_config("configs/stress.yaml", n_banks=60, max_steps=40, seed=seed)
    s = BankingSystem(cfg, record_events=False)
    s.reset(seed)
    rng = np.random.default_rng(seed)
    for _ in range(8):
        s.step(np.argmax(rng.random((s.n, 5)) * s.action_mask(), axis=1))
    return s


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_leverage_quotes_and_dealer_capacity_of_some_banks_are_the_full_figures_at_those_banks(seed):
    s = _stepped(seed)
    s.delete_bank(int(np.flatnonzero(s.active)[0]))  # a gone bank: no dealer capacity
    banks = np.concatenate([np.flatnonzero(~s.active), np.random.default_rng(seed).integers(0, s.n, 25)])  # repeats, any order
    full = Figures(s.state, s.params)
    some = Figures(s.state, s.params)  # nothing computed yet: the per-bank path
    assert some.leverage_at(banks).tobytes() == full.leverage[banks].tobytes()
    assert Figures(s.state, s.params).quote_at(banks).tobytes() == full.quote()[banks].tobytes()
    capacity = intermediation_capacity(s.state, s.params, *full.sheet)
    assert some.intermediation_capacity_at(banks).tobytes() == capacity[banks].tobytes()

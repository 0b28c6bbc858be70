"""Operations shared by the phases: a fire sale touches only the sellers' rows, bit for bit."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from interbank.config import resolve_env_config
from interbank.sim.columns import column_sums
from interbank.sim.operations import fire_sell
from interbank.sim.system import BankingSystem


def _every_row(state, params, target):
    """The fire sale over every bank's row (the formulation before only the sellers were touched)."""
    n = params.n
    total = state.holdings @ state.price
    frac = np.clip(np.divide(target, total, out=np.zeros(n), where=total > 0), 0.0, 1.0)
    sold_units = state.holdings * frac[:, None]
    state.basis *= (1.0 - frac)[:, None]
    state.holdings -= sold_units
    units = column_sums(sold_units)
    proceeds = frac * total * (1.0 - params.config.clearing.fire_sale_discount)
    state.accounts.trade(units, proceeds)
    return proceeds, units * state.price


@pytest.mark.parametrize("markets", [["M"], ["A", "B"], ["A", "B", "C"]])
@pytest.mark.parametrize("seed", range(3))
def test_fire_sale_of_some_banks_matches_the_sale_over_every_row_bit_for_bit(markets, seed):
    system = BankingSystem(resolve_env_config(n_banks=40, seed=seed, **{"markets.names": markets}), record_events=False)
    system.reset(seed)
    rng = np.random.default_rng(seed)
    target = np.where(rng.random(40) < 0.2, rng.exponential(20.0, 40), 0.0)
    target[0] = 1e12  # sells everything
    a, b = system.state, copy.deepcopy(system.state)
    before = a.holdings.copy()
    got = fire_sell(a, system.params, target)
    want = _every_row(b, system.params, target)
    for x, y in [*zip(got, want), (a.holdings, b.holdings), (a.basis, b.basis),
                 (a.accounts.investors_units, b.accounts.investors_units)]:
        assert x.tobytes() == y.tobytes()
    assert a.accounts.investors_cash == b.accounts.investors_cash
    assert (a.holdings[target == 0] == before[target == 0]).all() and a.holdings[0].sum() == 0.0

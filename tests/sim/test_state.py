"""The façade over the explicit state: every field reads through ``BankingSystem``, and the figures
it shares after any method that writes the state are those of the state, bit for bit."""

from __future__ import annotations

from dataclasses import fields

import numpy as np
import pytest

from interbank.config import resolve_env_config
from interbank.sim.figures import INPUTS, Figures
from interbank.sim.state import BankState
from interbank.sim.system import BankingSystem

NAMES = {"_lo": "loans_out", "_bo": "borrowings", "_cr": "capital_ratio", "_lcr": "liquidity_coverage",
         "_mask": "action_mask"}


def _same(a, b) -> bool:
    if isinstance(a, np.ndarray):
        return a.shape == b.shape and np.array_equal(a, b, equal_nan=a.dtype.kind == "f")
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return a == b


def _system() -> BankingSystem:
    s = BankingSystem(resolve_env_config("configs/stress.yaml", n_banks=12, max_steps=30, seed=2))
    s.reset(2)
    for _ in range(3):
        s.step(np.argmax(s.action_mask(), axis=1))
    return s


def _all_figures(s: BankingSystem) -> Figures:
    fig = s.figures()
    _ = fig.action_mask, fig.equity, fig.leverage, fig.capital_ratio, fig.liquidity_coverage, fig.booked
    return fig


def test_every_state_field_reads_and_writes_through_the_facade():
    s = _system()
    for f in fields(BankState):
        if f.name not in ("rng", "chol"):
            assert getattr(s, f.name) is getattr(s.state, f.name)
    s.max_steps = 99  # the façade's own attributes stay its own
    s.min_capital_ratio = 0.5
    assert s.state.min_capital_ratio == 0.5 and s.max_steps == 99


@pytest.mark.parametrize("write", [
    lambda s: s.add_capital(3, 5.0),
    lambda s: s.inject_liquidity(4, 7.0),
    lambda s: s.set_policy_rate(0.03),
    lambda s: s.set_capital_requirement(0.2),
    lambda s: s.set_priorities(np.ones(s.n, np.int64)),
    lambda s: s.delete_bank(int(np.flatnonzero(s.active)[0])),
    lambda s: s.wipe_external_assets(np.array([1, 2]), 0.5),
    lambda s: s.resolve_defaults(),
    lambda s: s.book_profits(s.t),
    lambda s: s.impact(np.full(s.m, -1e6)),
], ids=["add_capital", "inject_liquidity", "set_policy_rate", "set_capital_requirement", "set_priorities",
        "delete_bank", "wipe_external_assets", "resolve_defaults", "book_profits", "impact"])
def test_figures_after_a_write_are_those_of_the_state(write):
    s = _system()
    _all_figures(s)
    write(s)
    kept = s.figures()
    fresh = Figures(s.state, s.params)
    for slot in INPUTS:
        value = getattr(kept, slot)
        if value is not None:
            name = NAMES.get(slot, slot.lstrip("_"))
            assert _same(value, getattr(fresh, name)), name
    assert np.array_equal(s.equity(), fresh.equity) and np.array_equal(s.action_mask(), fresh.action_mask)

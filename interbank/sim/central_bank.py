"""The central bank's instruments as decisions over the state (the ``central_bank`` agent's actions).

One decision per call of ``decide``; each action is a small move of one instrument, masked at
its bounds (``action_mask``):

======  ===============  ==========================================================================
index   name             effect
======  ===============  ==========================================================================
0       hold             nothing
1       rate_up          the policy rate + ``rate_step`` (the whole corridor moves with it)
2       rate_down        the policy rate - ``rate_step`` (the deposit rate stops at 0)
3       ccyb_up          the countercyclical capital buffer + ``ccyb_step``, at most ``max_ccyb``
4       ccyb_down        the buffer - ``ccyb_step`` (a release), at least 0
5       haircuts_tight   the facility's haircuts x 1.5 (``HAIRCUT_SCALES``)
6       haircuts_normal  the configured haircuts
7       haircuts_wide    the haircuts x 0.5
8       lend_systemic    lend ``lend_share`` x initial capital to each of the ``lend_banks`` live
                         banks with the highest DebtRank, at the lending (penalty) rate, for a term
                         that ends at the next decision
======  ===============  ==========================================================================

The buffer raises the binding capital requirement (``BankState.min_capital_ratio`` = minimum +
``ccyb``), so the banks' mask, their observation's capital buffer and the ``step_end`` event all
see it. Pure numpy; settings live in ``config.central_bank``. Dollars; annual rates; ratios.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from interbank.sim import interventions
from interbank.sim.debtrank import debtrank
from interbank.sim.events import CENTRAL_BANK_DECISIONS
from interbank.sim.figures import Figures
from interbank.sim.state import HAIRCUT_SCALES, BankState, Params

CB_ACTIONS: tuple[str, ...] = CENTRAL_BANK_DECISIONS
N_CB_ACTIONS = len(CB_ACTIONS)
CB_HOLD = 0
CB_INDEX: dict[str, int] = {name: i for i, name in enumerate(CB_ACTIONS)}
HAIRCUT_ACTIONS: dict[int, str] = {CB_INDEX[f"haircuts_{h}"]: h for h in HAIRCUT_SCALES}
WRITES: frozenset[str] = (
    interventions.WRITES[interventions.set_policy_rate] | interventions.WRITES[interventions.inject_liquidity]
    | {"min_capital_ratio", "ccyb", "haircuts", "cb_term"}  # set_ccyb's, the haircuts' and the lending term's
)
"""The state's fields ``decide`` may write: the interventions' it calls (their own ``WRITES``) and its own."""
_EPS = 1e-12


def action_mask(state: BankState, params: Params, due: bool = True) -> np.ndarray:
    """bool[N_CB_ACTIONS]: the moves allowed now; only ``hold`` when the central bank is not due."""
    cb = params.config.central_bank
    mask = np.zeros(N_CB_ACTIONS, dtype=bool)
    mask[CB_HOLD] = True
    if not due or state.done:
        return mask
    mask[CB_INDEX["rate_up"]] = state.policy_rate + cb.rate_step <= cb.max_policy_rate + _EPS
    mask[CB_INDEX["rate_down"]] = state.policy_rate - cb.rate_step >= -_EPS
    mask[CB_INDEX["ccyb_up"]] = state.ccyb + cb.ccyb_step <= cb.max_ccyb + _EPS
    mask[CB_INDEX["ccyb_down"]] = state.ccyb > _EPS
    for index, setting in HAIRCUT_ACTIONS.items():
        mask[index] = state.haircuts != setting
    mask[CB_INDEX["lend_systemic"]] = bool(state.active.any())
    return mask


def systemic_banks(state: BankState, params: Params, fig: Figures, k: int) -> np.ndarray:
    """int[<= k]: the live banks with the highest DebtRank (ties: the larger initial capital).
    DebtRank is computed for the 4k most indebted live banks only (a bank that owes nothing to
    other banks has DebtRank 0), so the cost is O(k x (banks + loans))."""
    live = state.active.nonzero()[0]
    if live.size == 0:
        return live
    owed = fig.borrowings[live]
    candidates = live[np.lexsort((-state.capital0[live], -owed))[: 4 * k]]
    led = state.ledger
    dr = debtrank(led.lender, led.borrower, led.amount, fig.equity, shocked=[[int(c)] for c in candidates])
    order = np.lexsort((-state.capital0[candidates], -dr))
    return candidates[order[:k]]


def decide(state: BankState, params: Params, fig: Figures, action: int) -> list[dict[str, Any]]:
    """Carry out one decision (an index into ``CB_ACTIONS``, allowed by ``action_mask``) and return
    the data of its ``central_bank`` events (operation, bank, amount, rate, value; the caller adds
    the source). ``fig``: the figures of the state now. First the term of the previous decision's
    loans ends (``cb_term`` back to zero)."""
    cb = params.config.central_bank
    state.cb_term[:] = 0.0
    name = CB_ACTIONS[action]
    if name in ("rate_up", "rate_down"):
        step = cb.rate_step if name == "rate_up" else -cb.rate_step
        rate = min(max(round(state.policy_rate + step, 10), 0.0), cb.max_policy_rate)
        interventions.set_policy_rate(state, params, rate)
        return [_data("set_policy_rate", state, value=state.policy_rate)]
    if name in ("ccyb_up", "ccyb_down"):
        step = cb.ccyb_step if name == "ccyb_up" else -cb.ccyb_step
        set_ccyb(state, params, min(max(round(state.ccyb + step, 10), 0.0), cb.max_ccyb))
        return [_data("set_ccyb", state, value=state.ccyb)]
    if action in HAIRCUT_ACTIONS:
        state.haircuts = HAIRCUT_ACTIONS[action]
        return [_data("set_haircuts", state, value=HAIRCUT_SCALES[state.haircuts])]
    if name == "lend_systemic":
        banks = systemic_banks(state, params, fig, cb.lend_banks)
        amounts = cb.lend_share * state.capital0[banks]
        out = []
        for bank, amount in zip(banks.tolist(), amounts.tolist()):
            interventions.inject_liquidity(state, params, bank, amount)
            state.cb_term[bank] += amount
            out.append({"operation": "inject", "bank": params.names[bank], "amount": amount,
                        "rate": state.lending_rate, "value": None})
        return out
    return [_data("hold", state, value=None)]


def set_ccyb(state: BankState, params: Params, buffer: float) -> None:
    """Set the countercyclical buffer (a ratio); the binding requirement moves with it."""
    state.min_capital_ratio = state.min_capital_ratio - state.ccyb + buffer
    state.ccyb = buffer


def _data(operation: str, state: BankState, value: float | None) -> dict[str, Any]:
    return {"operation": operation, "bank": None, "amount": 0.0, "rate": state.policy_rate, "value": value}

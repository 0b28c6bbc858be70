"""Interventions on a ``BankState`` from outside the step: the interactive runner's hooks and the
experiments' shocks. Each is a function ``(state, params, ...)`` whose ``WRITES`` entry lists the
state's fields it writes (``BankingSystem`` keeps the figures the others leave valid).
Dollars unless stated; rates annual.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from interbank.sim import defaults
from interbank.sim.figures import Figures
from interbank.sim.state import BankState, Params


def add_capital(state: BankState, params: Params, bank: int, amount: float) -> None:
    """Inject ``amount`` dollars of new equity as cash (paid in by shareholders)."""
    state.cash[bank] += amount
    state.accounts.shareholders -= amount
    state.income["other"][bank] += amount


def delete_bank(state: BankState, params: Params, bank: int, fig: Figures) -> dict[str, float]:
    """Remove an active bank, settling its positions like a default (fire sale of its market
    positions, its creditors paid by the clearing model, its claims passed to external
    creditors). ``fig``: the figures of the state now. Returns the settlement figures: its
    ``equity`` before, ``creditor_losses`` and ``fire_sale_volume`` (dollars)."""
    eq = float(fig.equity[bank])
    losses, volume = defaults.close(state, params, np.array([bank]), "deleted", fig)
    return {"equity": eq, "creditor_losses": losses, "fire_sale_volume": volume}


def inject_liquidity(state: BankState, params: Params, bank: int, amount: float) -> None:
    """Emergency liquidity: the central bank lends ``amount`` to ``bank`` (cash up, central bank
    loan up, equity unchanged), at the lending rate."""
    state.cb_loans[bank] += amount
    state.cash[bank] += amount
    state.cb_lent += amount
    state.accounts.central_bank -= amount


def set_policy_rate(state: BankState, params: Params, rate: float) -> tuple[float, float, float]:
    """Move the corridor so the policy rate is ``rate``, keeping its widths (the deposit rate stops
    at 0); the market rate keeps its place in the corridor. A cut reprices the interbank loans
    outstanding above the new lending facility at it: their borrowers would refinance there (a
    loan's rate is otherwise fixed for its term, so a hike leaves them as they are), and no loan
    is ever carried above the ceiling. Returns (deposit, policy, lending)."""
    shift = rate - state.policy_rate
    cb = params.config.central_bank
    width = cb.policy_rate - cb.deposit_rate  # the configured distance from the floor to the policy rate
    if state.policy_rate - width < 0.0:
        # the floor sits at 0, narrower than configured: it follows the rate from where it would be
        # had it not stopped, so a cut to 0 and back leaves the corridor as it was
        state.deposit_facility_rate = max(rate - width, 0.0)
    else:
        state.deposit_facility_rate = max(state.deposit_facility_rate + shift, 0.0)
    state.policy_rate = rate
    state.lending_rate = state.lending_rate + shift
    state.market_rate = min(max(state.market_rate + shift, state.deposit_facility_rate), state.lending_rate)
    np.minimum(state.ledger.rate, state.lending_rate, out=state.ledger.rate)
    return state.deposit_facility_rate, state.policy_rate, state.lending_rate


def set_capital_requirement(state: BankState, params: Params, ratio: float) -> None:
    """Change the minimum capital ratio (equity / RWA) below which LEND and INVEST are masked; a
    countercyclical buffer the central bank agent set (``ccyb``) stays on top of it."""
    state.min_capital_ratio = ratio + state.ccyb


def set_priorities(state: BankState, params: Params, priorities: np.ndarray) -> None:
    """The priority in force per bank (index into ``PRIORITIES``, for events); gone banks keep
    their last one."""
    p = np.asarray(priorities, dtype=np.int64)
    state.priorities = np.where(state.active, p, state.priorities)


def wipe_external_assets(state: BankState, params: Params, banks: np.ndarray, fraction: float = 1.0) -> None:
    """Exogenous shock: ``banks`` lose ``fraction`` of their cash, book and market positions (no
    fire sale: the assets are simply gone). Used by the validation experiments."""
    banks = np.asarray(banks, dtype=np.int64)
    gone = state.cash[banks].sum() + state.book[banks].sum() + (state.holdings[banks] @ state.price).sum()
    state.accounts.add("wiped", -fraction * float(gone))
    state.cash[banks] *= 1.0 - fraction
    state.book[banks] *= 1.0 - fraction
    state.holdings[banks] *= 1.0 - fraction
    state.basis[banks] *= 1.0 - fraction


WRITES: dict[Callable[..., object], frozenset[str]] = {
    add_capital: frozenset({"cash", "accounts", "income"}),
    delete_bank: defaults.WRITES,
    inject_liquidity: frozenset({"cb_loans", "cash", "cb_lent", "accounts"}),
    set_policy_rate: frozenset({"deposit_facility_rate", "policy_rate", "lending_rate", "market_rate", "ledger"}),
    set_capital_requirement: frozenset({"min_capital_ratio"}),
    set_priorities: frozenset({"priorities"}),
    wipe_external_assets: frozenset({"cash", "book", "holdings", "basis", "accounts"}),
}
"""The state's fields each intervention writes."""

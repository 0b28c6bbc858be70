"""Defaults: which banks fail, how a closing bank is settled, and the cascade.

A bank fails when it is illiquid (cash still below zero after funding, the facility, fire sales
and book sales) or insolvent (equity < 0, or <= 0 with ``clearing.default_at_zero_equity``).
Closing a bank fire-sells its market positions (prices fall: the second contagion channel),
pays its creditors what the clearing model (``interbank.sim.clearing``) says it can, passes its
claims on open banks to its depositors, and pays out or loses its estate. ``resolve_defaults``
repeats until no new default, emitting a ``default`` per bank and a ``cascade`` per chain.

Reads and writes (state fields): the balance sheets (cash, book, deposits, deposits0, cb_loans,
holdings, basis), the ledger, the markets (price, log_value, transient), status (active,
defaulted, deleted, frozen) and the books (income, accounts, counterparty_losses,
external_losses, fire_sales, default_causes, total_defaults, cascades). Dollars throughout.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from interbank.sim.clearing import CLEARING_MODELS
from interbank.sim.events import EventLog
from interbank.sim.figures import Figures, Tolerances, investment_total, tolerances
from interbank.sim.operations import fire_sell, impact
from interbank.sim.state import FROZEN, BankState, Params

WRITES: frozenset[str] = frozenset({
    "cash", "book", "deposits", "deposits0", "cb_loans", "holdings", "basis", "ledger", "price", "log_value",
    "transient", "active", "defaulted", "deleted", "frozen", "income", "accounts", "counterparty_losses",
    "external_losses", "fire_sales", "default_causes", "total_defaults", "cascades", "central_bank_losses",
})
"""The state's fields ``close`` and ``resolve_defaults`` may write."""


def recovery(state: BankState, params: Params, bo: np.ndarray) -> np.ndarray:
    """float[n] in [0, 1]: the fraction of its debts each bank pays, by the configured clearing
    model, from the borrowings ``bo`` of the state's ledger."""
    led = state.ledger
    n = params.n
    p_bar = bo + state.deposits + state.cb_loans
    share = led.amount / np.where(p_bar > 0, p_bar, 1.0)[led.borrower]
    pi_t = sp.csr_matrix((share, (led.lender, led.borrower)), shape=(n, n))
    external = np.maximum(state.cash + state.book + investment_total(state), 0.0)
    return CLEARING_MODELS[params.config.clearing.model](pi_t, p_bar, external, params.config.clearing)


def close(state: BankState, params: Params, banks: np.ndarray, cause: str, fig: Figures) -> tuple[float, float]:
    """Settle and remove ``banks`` (``cause``: ``defaulted`` or ``deleted``); ``fig``: the figures
    of the state now. Returns (creditor losses, value fire-sold), dollars."""
    n = params.n
    lo, bo = fig.loans_out, fig.borrowings  # the ledger's sums: the fire sale below leaves the ledger as it is
    # their balance sheets as they leave (the FROZEN columns of the balance sheet, for these rows only)
    sheet = (state.cash, state.book, lo, bo, state.deposits, state.cb_loans)
    for k, column in enumerate(sheet):
        state.frozen[banks, k] = column[banks]
    state.frozen[banks, len(FROZEN):] = state.holdings[banks] * state.price
    # fire sale of the closing banks' positions: the second contagion channel
    target = np.zeros(n)
    target[banks] = np.inf
    proceeds, sold = fire_sell(state, params, target)
    state.cash += proceeds
    impact(state, params, -sold)
    state.fire_sales += float(sold.sum())
    rho = recovery(state, params, bo)
    p_bar = bo + state.deposits + state.cb_loans
    closing = np.zeros(n, dtype=bool)
    closing[banks] = True
    led = state.ledger
    owed = closing[led.borrower] & (led.amount > 0)
    recovered = led.amount[owed] * rho[led.borrower[owed]]
    lost = led.amount[owed] - recovered
    losses = float(lost.sum())
    state.counterparty_losses += np.bincount(led.lender[owed], weights=lost, minlength=n)
    state.income["other"] -= np.bincount(led.lender[owed], weights=lost, minlength=n)
    cash_before = state.cash[banks].copy()  # an overdraft (negative cash) is settled below
    got = np.bincount(led.lender[owed], weights=recovered, minlength=n)
    state.cash += got
    state.external_losses += float(((state.deposits[banks] + state.cb_loans[banks]) * (1.0 - rho[banks])).sum())
    led.amount[owed] = 0.0
    # claims of a closed bank on open banks pass to its depositors as part of what they recover
    # (same debt, now a deposit at the borrower); the rest of their recovery is paid in money
    claims = closing[led.lender] & (led.amount > 0)
    passed = np.bincount(led.lender[claims], weights=led.amount[claims], minlength=n)[banks]
    state.deposits += np.bincount(led.borrower[claims], weights=led.amount[claims], minlength=n)
    led.amount[claims] = 0.0
    led.compact()
    # the estate: what the closed banks held (after their fire sale and the recoveries they got),
    # paid out to creditors (rho x claims) and, for a bank that pays in full, its shareholders;
    # what is left is lost in liquidation (bankruptcy costs, Rogers & Veraart's alpha and beta)
    # an illiquid bank's negative cash is payments the payment system (the central bank) settled
    # for it: a claim on the estate after the creditors the clearing paid, before shareholders
    overdraft = np.maximum(-cash_before, 0.0)
    estate = np.maximum(cash_before, 0.0) + got[banks] + state.book[banks] + passed
    paid = rho[banks] * p_bar[banks]
    leftover = np.where(rho[banks] >= 1.0, np.maximum(estate - paid, 0.0), 0.0)
    settled = np.minimum(overdraft, leftover)
    residual = leftover - settled
    acc = state.accounts
    acc.central_bank -= float((overdraft - settled).sum())
    # the central bank's own credit loss: its loans not recovered, and overdrafts it settled unpaid
    state.central_bank_losses += float((state.cb_loans[banks] * (1.0 - rho[banks])).sum() + (overdraft - settled).sum())
    state.external_losses += float((overdraft - settled).sum())
    acc.households += float((rho[banks] * state.deposits[banks] - passed).sum())
    acc.central_bank += float((rho[banks] * state.cb_loans[banks]).sum())
    acc.shareholders += float(residual.sum())
    acc.add("bankruptcy_costs", -float((estate - paid - settled - residual).sum()))
    state.active[banks] = False
    if cause == "deleted":
        state.deleted[banks] = True
    else:
        state.defaulted[banks] = True
    for arr in (state.cash, state.book, state.deposits, state.cb_loans, state.deposits0):
        arr[banks] = 0.0
    state.holdings[banks] = 0.0
    state.basis[banks] = 0.0
    return losses, float(sold.sum())


def _below_zero(state: BankState, params: Params, eq: np.ndarray, tol: Tolerances) -> tuple[np.ndarray, np.ndarray]:
    """(cash below zero, equity below zero) bool[n] of every bank (equity at zero counting with
    ``clearing.default_at_zero_equity``; zero meaning within ``tol.zero`` of it): ``failing``'s tests."""
    short = state.cash < tol.minus_zero
    broke = eq <= tol.zero if params.config.clearing.default_at_zero_equity else eq < tol.minus_zero
    return short, broke


def failing(state: BankState, params: Params, eq: np.ndarray,
            tol: Tolerances | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(insolvent, illiquid) bool[n] of active banks, from the equity ``eq``. Illiquid: cash still
    below zero (an obligation it could not pay after funding, fire sales, the facility and book
    sales). Insolvent: the others with equity < 0 (<= 0 with ``clearing.default_at_zero_equity``;
    zero meaning within 1e-9 of the bank's initial assets, to absorb rounding: ``tol``, the
    ``figures.tolerances`` when the caller has them)."""
    tol = tolerances(state, params) if tol is None else tol
    short, broke = _below_zero(state, params, eq, tol)
    illiquid = state.active & short
    insolvent = state.active & ~illiquid & broke
    return insolvent, illiquid


def _any_failing(state: BankState, params: Params, eq: np.ndarray, tol: Tolerances) -> np.ndarray:
    """int[k]: the banks ``failing`` finds insolvent or illiquid, without telling which (the same
    tests, or-ed: fewer array operations for the usual step, where none fails)."""
    bad, broke = _below_zero(state, params, eq, tol)
    bad |= broke
    bad &= state.active
    return bad.nonzero()[0]


def resolve_defaults(state: BankState, params: Params, log: EventLog, fig: Figures,
                     first_cause: str = "insolvency") -> tuple[np.ndarray, int, Figures]:
    """Default every insolvent or illiquid active bank, repeat until no new default. ``fig``: the
    figures of the state now. Returns (defaulted bank indices int[k], cascade depth, the figures
    of the state it leaves: its equity computed)."""
    t = state.t
    names = params.names
    eq, tol = fig.equity, fig.tolerances
    new = _any_failing(state, params, eq, tol)
    if new.size == 0:
        return new, 0, fig
    illiquid = failing(state, params, eq, tol)[1]  # (which of them are illiquid: the cause)
    trigger = [names[i] for i in new.tolist()]
    all_new: list[np.ndarray] = []
    depth, losses, volume = 0, 0.0, 0.0
    while new.size:
        depth += 1
        for i, e in zip(new.tolist(), eq[new].tolist()):
            cause = "illiquidity" if illiquid[i] else (first_cause if depth == 1 else "contagion")
            state.default_causes[cause] = state.default_causes.get(cause, 0) + 1
            log.emit(t, "default", {"bank": names[i], "equity": e, "cause": cause})
        l_, v_ = close(state, params, new, "defaulted", fig)
        losses += l_
        volume += v_
        all_new.append(new)
        fig = fig.carry(WRITES)  # the state after the closing (the figures of fixed fields kept)
        eq = fig.equity
        new = _any_failing(state, params, eq, tol)
        if new.size:
            illiquid = failing(state, params, eq, tol)[1]
    out = np.concatenate(all_new)
    state.total_defaults += int(out.size)
    state.cascades.append(int(out.size))
    log.emit(t, "cascade", {
        "trigger": trigger, "defaulted": [names[i] for i in out.tolist()],
        "depth": depth, "losses": losses, "fire_sale_volume": volume,
    })
    return out, depth, fig

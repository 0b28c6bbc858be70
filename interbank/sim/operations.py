"""Operations on a ``BankState`` shared by the phases, the defaults and the interventions.

Each says what it reads and writes (state fields). Dollars unless stated; ``m`` markets.

- ``fire_sell``: sell a target of market positions (the caller moves prices);
- ``impact`` and ``reprice``: move prices by a net flow, and set prices from the market state;
- ``cb_events``: record central bank facility use;
- ``book_profits``: realise market P&L every ``profit_booking_every`` steps.
"""

from __future__ import annotations

import numpy as np

from interbank.sim import market
from interbank.sim.accounts import units_outstanding
from interbank.sim.columns import column_sums, gather_rows, row_sums, scale_columns
from interbank.sim.events import EventLog
from interbank.sim.figures import investment_total, investment_values
from interbank.sim.state import BankState, Params


def fire_sell(state: BankState, params: Params, target: np.ndarray,
              total: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Sell up to ``target`` dollars (at market value) of each bank's positions, pro rata over
    markets, to the markets' outside investors. Returns (cash proceeds after the fire-sale
    discount float[n], value sold per market float[m]); the caller pays the proceeds and moves
    prices. ``total``: ``investment_total`` when the caller has it. Reads holdings, price; writes
    holdings, basis, accounts."""
    n, m = params.n, params.m
    total = investment_total(state) if total is None else total
    # only the banks with a target can sell (the others sell a fraction 0 for proceeds of 0), and
    # only the sellers' rows change (the others sell 0 units and keep their basis times 1); the
    # units sold per market are their rows summed in order, as over every row with the zeros
    asked = (target != 0).nonzero()[0]  # (a comparison first: numpy's nonzero of floats is slow)
    has = total[asked]
    # what is asked beyond the positions is capped first: the same fractions (x / x is exactly 1),
    # without a quotient overflowing when a position is a few dollars' dust; clipped to [0, 1] in
    # place (``np.clip``'s bits, signed zeros and NaNs included, without its wrapper's cost)
    frac = np.divide(np.minimum(target[asked], has), has, out=np.zeros(asked.size), where=has > 0)
    np.minimum(np.maximum(0.0, frac, out=frac), 1.0, out=frac)
    selling = frac != 0
    if not selling.any():
        return np.zeros(n), np.zeros(m)
    proceeds = np.zeros(n)
    proceeds[asked] = frac * has * (1.0 - params.config.clearing.fire_sale_discount)
    sellers, frac = asked[selling], frac[selling]
    # the sellers are few (a handful a step): their rows are gathered, changed and written back
    # whole (the same values as a column at a time, in fewer array operations)
    held = gather_rows(state.holdings, sellers)
    sold_units = held * frac[:, None]
    state.holdings[sellers] = held - sold_units
    kept = gather_rows(state.basis, sellers)
    kept *= (1.0 - frac)[:, None]
    state.basis[sellers] = kept
    if m < 2:  # one column is summed pairwise (``column_sums``): over every row, zeros included
        every = np.zeros((n, m))
        every[sellers] = sold_units
        sold_units = every
    units = column_sums(sold_units)
    sold = units * state.price
    state.accounts.trade(units, proceeds)  # the markets' outside investors buy
    return proceeds, sold


def impact(state: BankState, params: Params, flow: np.ndarray) -> None:
    """Move prices by a net flow (dollars per market): part permanent, part transient.
    Writes log_value, transient, then ``reprice``."""
    mk = params.config.markets
    move = market.impact_move(flow, mk.impact, state.depth)
    state.log_value += mk.permanent_impact * move
    state.transient += (1.0 - mk.permanent_impact) * move
    reprice(state, params)


def reprice(state: BankState, params: Params) -> None:
    """Set prices from the market state; every holder's revaluation is a market move.
    Reads log_value, transient, holdings; writes price, accounts."""
    before = state.price.copy()
    state.price = market.prices(state.log_value, state.transient, params.config.markets.price_floor * state.price0)
    state.accounts.add("market_moves", float(units_outstanding(state) @ (state.price - before)))


def cb_events(state: BankState, params: Params, log: EventLog, operation: str, amounts: np.ndarray) -> float:
    """Record central bank facility use (``lending_facility`` or ``repayment``, dollars per bank;
    one ``central_bank`` event per bank with a positive amount). Returns the amounts' total
    (``amounts.sum()``). Writes cb_lent, accounts."""
    total = float(amounts.sum())
    if operation == "lending_facility":
        state.cb_lent += total
        state.accounts.central_bank -= total
    elif operation == "repayment":
        state.accounts.central_bank += total
    if log.enabled:
        for i in (amounts > 0).nonzero()[0].tolist():
            log.emit(state.t, "central_bank", {
                "operation": operation, "bank": params.names[i], "amount": float(amounts[i]),
                "rate": state.lending_rate, "value": None,
            })
    return total


def book_profits(state: BankState, params: Params, log: EventLog, t: int, gone: np.ndarray | None = None) -> None:
    """Realise market P&L: gains are sold to cash at the price, losses written into the basis.
    Equity does not change (positions are already marked to market); one ``profit_booking`` event
    per open position. ``gone``: the banks not active, when the caller has them. Reads price,
    active; writes holdings, cash, basis, accounts."""
    value = investment_values(state)
    # the open positions (``holdings > 0 & active[:, None]``: the gone banks' rows cleared, numpy's
    # broadcasts over a 2-wide axis cost about three times as much), and the cells that are not:
    # few (the gone banks', the empty positions), so each ``np.where(pos, x, y)`` below is x with
    # y written into those cells, and the profit, 0 there, is computed everywhere and cleared there
    pos = state.holdings > 0
    pos[(~state.active).nonzero()[0] if gone is None else gone] = False
    shut = np.logical_not(pos).reshape(-1).nonzero()[0]
    profit = np.subtract(value, state.basis, out=value)  # ``np.where(pos, value - basis, 0.0)``
    profit.reshape(-1)[shut] = 0.0
    gain = profit > 0
    realised = np.where(gain, profit, 0.0)
    # ``np.where(gain, profit / price, 0.0)``, divided where a gain is only, a market at a time
    sold = np.zeros(profit.shape)
    for j in range(sold.shape[1]):
        np.divide(profit[:, j], state.price[j], out=sold[:, j], where=gain[:, j])
    state.holdings -= sold
    state.cash += row_sums(realised)
    state.accounts.trade(column_sums(sold), realised)
    if log.enabled:
        rows, cols = np.nonzero(pos)
        for i, mm, b, p in zip(rows.tolist(), cols.tolist(), state.basis[rows, cols].tolist(), profit[rows, cols].tolist()):
            log.emit(t, "profit_booking", {
                "bank": params.names[i], "market": params.markets[mm], "invested": b,
                "return": p / b if b > 0 else 0.0, "profit": p,
            })
    basis = scale_columns(state.holdings, state.price)  # ``np.where(pos, holdings x price, basis)``
    basis.reshape(-1)[shut] = state.basis.reshape(-1)[shut]
    state.basis = basis

"""The data of the state-wide events (``init``, ``step_end``, ``complete``), built from a state.

The schema of every event is ``interbank.sim.events``; the phases emit the per-bank events
(``transaction``, ``default``, ...) themselves. Here the snapshots of balance sheets, the market
states and the summary are read from a ``BankState`` and its ``Figures``. Dollars, index points,
ratios; banks by their agent name; NaN written as None.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from interbank.sim import regulation
from interbank.sim.actions import ACTIONS, PRIORITIES
from interbank.sim.figures import Figures, connections, investment_values
from interbank.sim.state import FROZEN, BankState, Params


def snapshots(state: BankState, params: Params, fig: Figures, idx: np.ndarray | None = None) -> list[dict[str, Any]]:
    """Balance sheets as event dicts (``BankSnapshot``); gone banks show their sheet at the moment
    they left. ``idx``: the banks (all by default)."""
    bs = fig.sheet[0]
    rows = np.arange(params.n) if idx is None else np.asarray(idx)
    cols = {name: bs[name][rows].copy() for name in FROZEN}
    inv_arr = bs["investments"][rows].copy()
    cr = fig.capital_ratio[rows].copy()
    lcr = fig.liquidity_coverage[rows].copy()
    gone = ~state.active[rows]
    if gone.any():
        f = state.frozen[rows[gone]]
        for k, name in enumerate(FROZEN):
            cols[name][gone] = f[:, k]
        inv_arr[gone] = f[:, len(FROZEN):]
        cr[gone] = np.nan
        lcr[gone] = np.nan
    assets = cols["cash"] + cols["book"] + cols["loans_out"] + inv_arr.sum(axis=1)
    eq = assets - cols["borrowings"] - cols["deposits"] - cols["central_bank"]
    lev = np.divide(assets, eq, out=np.full(rows.size, np.nan), where=eq > 0)
    lists = {k: v.tolist() for k, v in cols.items()}
    inv, eq_l, lev_l = inv_arr.tolist(), eq.tolist(), lev.tolist()
    cr_l, lcr_l = np.minimum(cr, regulation.CAP).tolist(), np.minimum(lcr, regulation.CAP).tolist()
    names, markets = params.names, params.markets
    out = []
    for k, i in enumerate(rows.tolist()):
        out.append({
            "id": names[i], "cash": lists["cash"][k], "book": lists["book"][k],
            "loans_out": lists["loans_out"][k], "borrowings": lists["borrowings"][k],
            "investments": dict(zip(markets, inv[k])), "deposits": lists["deposits"][k],
            "central_bank_loans": lists["central_bank"][k], "equity": eq_l[k],
            "leverage": None if lev_l[k] != lev_l[k] else lev_l[k],
            "capital_ratio": None if cr_l[k] != cr_l[k] else cr_l[k],
            "lcr": None if lcr_l[k] != lcr_l[k] else lcr_l[k],
            "defaulted": bool(state.defaulted[i]), "deleted": bool(state.deleted[i]),
            "priority": PRIORITIES[int(state.priorities[i])],
        })
    return out


def market_states(state: BankState, params: Params) -> list[dict[str, Any]]:
    """Every market's price, initial price, return since reset and last step's return (``MarketState``)."""
    return [
        {"name": name, "price": float(p), "initial_price": float(p0), "return": float(p / p0 - 1.0),
         "last_return": float(r)}
        for name, p, p0, r in zip(params.markets, state.price, state.price0, state.last_return)
    ]


def total_capital(state: BankState, fig: Figures) -> float:
    """The open banks' equity in total (dollars)."""
    return float(fig.equity[state.active].sum())


def summary(state: BankState, fig: Figures) -> dict[str, Any]:
    """The episode so far in numbers (the ``complete`` event's ``summary``)."""
    return {
        "steps": state.t, "active_banks": int(state.active.sum()), "defaults": int(state.defaulted.sum()),
        "deleted": int(state.deleted.sum()), "cascades": len(state.cascades),
        "max_cascade": max(state.cascades, default=0), "total_capital": total_capital(state, fig),
        "initial_capital": float(state.capital0.sum()), "external_losses": state.external_losses,
        "fire_sales": state.fire_sales, "book_sales": state.book_sales, "central_bank_lent": state.cb_lent,
        "default_causes": dict(state.default_causes),
    }


def init_data(state: BankState, params: Params, max_steps: int, run_info: dict[str, Any]) -> dict[str, Any]:
    """The ``init`` event's data: banks, markets, the initial connections and a config summary
    (``run_info``: extra JSON-ready facts, such as the policy and the resolved config)."""
    cfg = params.config
    names = params.names
    lender, borrower, amount = state.initial_connections
    return {
        "banks": [
            {"id": name, "capital": c, "target_leverage": lv, "risk": r}
            for name, c, lv, r in zip(names, state.capital0.tolist(), state.target_leverage.tolist(), state.risk.tolist())
        ],
        "markets": market_states(state, params),
        "connections": [
            {"lender": names[i], "borrower": names[j], "amount": x}
            for i, j, x in zip(lender.tolist(), borrower.tolist(), amount.tolist())
        ],
        "config": {
            "n_banks": params.n, "max_steps": max_steps, "seed": state.seed,
            "network": cfg.network.type, "avg_degree": cfg.network.avg_degree,
            "clearing": cfg.clearing.model, "policy_rate": state.policy_rate,
            "central_bank": cfg.central_bank.enabled,
            "profit_booking_every": cfg.profit_booking_every, "actions": list(ACTIONS),
            "markets": list(params.markets), "digest": cfg.digest(), **run_info,
        },
    }


def step_end_data(state: BankState, params: Params, fig: Figures) -> dict[str, Any]:
    """The ``step_end`` event's data: every bank's snapshot, the markets and the system's totals."""
    t = state.t
    banks = snapshots(state, params, fig)
    total = total_capital(state, fig)
    live = state.active
    f = state.funding
    rate = f["rate"]
    return {
        "step": t, "active_banks": int(live.sum()), "defaults": int(state.defaulted.sum()),
        "total_capital": total, "banks": banks, "markets": market_states(state, params),
        "totals": {
            "cash": float(state.cash[live].sum()),
            "book": float(state.book[live].sum()),
            "interbank_loans": float(state.ledger.amount.sum()),
            "investments": float(investment_values(state)[live].sum()),
            "deposits": float(state.deposits[live].sum()),
            "central_bank_loans": float(state.cb_loans[live].sum()),
            "funding_requested": float(f["requested"].sum()),
            "funding_matched": float(f["received"].sum()),
            "funding_unmet": float(f["unmet"].sum()),
            "interbank_rate": None if rate != rate else rate,
            "connections": connections(state),
            "policy_rate": state.policy_rate,
            "market_rate": state.market_rate,
            "deposit_facility_rate": state.deposit_facility_rate,
            "lending_facility_rate": state.lending_rate,
            "min_capital_ratio": state.min_capital_ratio,
        },
    }


def complete_data(state: BankState, reason: str, fig: Figures) -> dict[str, Any]:
    """The ``complete`` event's data: why the episode ended and its ``summary``."""
    return {"reason": reason, "summary": summary(state, fig)}

"""The step as a pipeline of small named phases over a ``BankingSystem``.

Each phase is a function ``phase(system, ctx)``; ``PHASES`` lists them in
order and ``BankingSystem.step`` runs them. ``StepContext`` carries what one
phase hands to the next (validated actions, the step's random draws, market
flows, LEND offers, transaction records).

Order within a step and why:

1. ``actions``: INVEST and DIVEST trade at the midpoint of the price move their
   net flow causes; LEND offers and BORROW calls are recorded (settled in 3 and 5).
2. ``markets``: prices move with the net flow, noise and crashes.
3. ``interest_and_maturities``: interest accrues (deposits, book, cash at the
   deposit facility, operating costs, interbank and central bank loans); the
   part of its loans a BORROW-ing lender calls is due now; matured loans roll
   over, repriced at the borrower's current rate; the central bank facility is
   repaid out of spare cash.
4. ``deposit_flows``: zero-sum deposit flows between banks, rare runs,
   scheduled shocks.
5. ``funding_market``: banks short of their reserve requirement request
   funding; LEND supply is matched to the requests (``interbank.sim.funding``).
6. ``liquidity_fallback``: obligations still unpaid go to fire sales of market
   positions, then the central bank's lending facility, then early sale of
   the loan book; a bank still short is illiquid.
7. ``booking``: profit booking every ``profit_booking_every`` steps.
8. ``defaults``: illiquid and insolvent banks default; clearing and fire
   sales cascade until no new default.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

import numpy as np

from interbank.sim import funding
from interbank.sim.actions import ACTIONS, BORROW, DIVEST, HOLD, INVEST, LEND, N_ACTIONS, PRIORITIES

if TYPE_CHECKING:
    from interbank.sim.system import BankingSystem


@dataclass
class StepContext:
    """What the phases of one step share. ``tx``: bank -> (counterparty, market, amount)
    for the ``transaction`` events; ``shortfall``: dollars of obligations a bank had to
    cover beyond its cash (fire sales, facility, book sale, or default)."""

    t: int
    acts: np.ndarray
    invalid: np.ndarray
    draws: dict[str, np.ndarray]
    flow: np.ndarray
    offers: np.ndarray
    calling: np.ndarray
    shortfall: np.ndarray
    tx: dict[int, tuple[str | None, str | None, float]] = field(default_factory=dict)
    new_defaults: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    cascade_depth: int = 0


def _scale(s: "BankingSystem") -> np.ndarray:
    return 0.5 + s.risk


# ----------------------------------------------------------------- 1. actions
def actions(s: "BankingSystem", ctx: StepContext) -> None:
    a = s.config.actions
    acts = ctx.acts
    excess = s.excess_cash()
    record = s.log.enabled

    # INVEST and DIVEST trade together: the net flow moves each market's price, and every trade
    # executes at the midpoint of the move (the average cost of a linear impact), so a crowd that
    # buys together pays up and one that sells together gets less: no free round trip
    investors = np.flatnonzero(acts == INVEST)
    logits = s.momentum() / a.momentum_temperature
    p = np.exp(logits - logits.max())
    cdf = np.cumsum(p / p.sum())
    buy_mkt = np.minimum(np.searchsorted(cdf, ctx.draws["u_mkt"][investors], side="right"), s.m - 1)
    buy = np.minimum(a.invest_fraction * _scale(s)[investors], 1.0) * excess[investors]
    sellers = np.flatnonzero(acts == DIVEST)
    sell_mkt = np.argmax(s.holdings[sellers] * s.price, axis=1)
    units = a.divest_fraction * s.holdings[sellers, sell_mkt]
    flow = np.bincount(buy_mkt, weights=buy, minlength=s.m) - np.bincount(sell_mkt, weights=units * s.price[sell_mkt], minlength=s.m)
    ctx.flow += flow
    executed = s.price * np.exp(0.5 * s.config.markets.impact * flow / s.depth)
    if investors.size:
        s.holdings[investors, buy_mkt] += buy / executed[buy_mkt]
        s.basis[investors, buy_mkt] += buy
        s.cash[investors] -= buy
    if sellers.size:
        proceeds = units * executed[sell_mkt]
        s.holdings[sellers, sell_mkt] -= units
        s.basis[sellers, sell_mkt] *= 1.0 - a.divest_fraction
        s.cash[sellers] += proceeds
    if record:
        for i, mm, x in zip(investors.tolist(), buy_mkt.tolist(), buy.tolist()):
            ctx.tx[i] = (None, s.markets[mm], x)
        for i, mm, x in zip(sellers.tolist(), sell_mkt.tolist(), (units * executed[sell_mkt]).tolist()):
            ctx.tx[i] = (None, s.markets[mm], x)

    lenders = acts == LEND
    ctx.offers = np.where(lenders, np.minimum(a.lend_fraction * _scale(s), 1.0) * excess, 0.0)
    ctx.calling = acts == BORROW


# ----------------------------------------------------------------- 2. markets
def markets(s: "BankingSystem", ctx: StepContext) -> None:
    mk, sh = s.config.markets, s.config.shocks
    s.price_before = s.price.copy()
    fundamental = s.price0 * np.exp(mk.drift * ctx.t)
    s.price *= np.exp(
        mk.impact * ctx.flow / s.depth - mk.reversion * np.log(s.price / fundamental)
        + mk.drift - 0.5 * mk.volatility ** 2 + mk.volatility * ctx.draws["z_mkt"]
    )
    s.price[ctx.draws["u_crash"] < sh.crash_prob] *= 1.0 - sh.crash_size
    for shock in s.scheduled.get(ctx.t, ()):
        if shock.type == "market_crash":
            s.price[s.markets.index(shock.market)] *= 1.0 - shock.size
    np.maximum(s.price, mk.price_floor * s.price0, out=s.price)


# ---------------------------------------------------- 3. interest and maturities
def interest_and_maturities(s: "BankingSystem", ctx: StepContext) -> None:
    cfg = s.config
    per = cfg.per_step
    n, t = s.n, ctx.t
    led = s.ledger
    live = s.active
    # interest: cash flows for deposits, book, reserves, costs; capitalised on interbank and central bank loans
    assets = s.total_assets()
    s.cash += np.where(live, (
        per(cfg.rates.book) * s.book + per(s.deposit_facility_rate) * np.maximum(s.cash, 0.0)
        - per(cfg.rates.deposit) * s.deposits - per(cfg.rates.operating_cost) * assets
    ), 0.0)
    vol = cfg.rates.book_volatility / np.sqrt(cfg.steps_per_year)
    s.book *= np.exp(vol * ctx.draws["z_book"] - 0.5 * vol ** 2)
    led.amount *= 1.0 + led.rate / cfg.steps_per_year
    s.cb_loans *= 1.0 + per(s.lending_rate)
    s.invalidate()

    # calls (BORROW: the lender refuses to roll over call_fraction of every loan, due now);
    # the rest rolls over at maturity, repriced at the borrower's current rate
    called = cfg.actions.call_fraction * led.amount * ctx.calling[led.lender]
    # a remainder below the minimum trade is called in full, so calls end links
    dust = ctx.calling[led.lender] & (led.amount - called < cfg.actions.min_trade * s.capital0[led.lender])
    called[dust] = led.amount[dust]
    led.amount -= called
    s.cash += np.bincount(led.lender, weights=called, minlength=n) - np.bincount(led.borrower, weights=called, minlength=n)
    s.invalidate()
    roll = (led.due <= t) & (led.amount > 0)
    if roll.any():
        led.rate[roll] = s.quote()[led.borrower[roll]]
        led.due[roll] = t + cfg.funding.maturity
    # the facility is repaid out of spare cash once the interbank loans are settled
    spare = np.maximum(s.cash - cfg.funding.repay_buffer * s.required_reserves(), 0.0)
    back = np.minimum(spare, s.cb_loans)
    if back.any():
        s.cb_loans -= back
        s.cash -= back
        s.cb_events("repayment", back)
    if s.log.enabled:
        _record_calls(s, ctx, called)
    led.compact()


def _record_calls(s: "BankingSystem", ctx: StepContext, called: np.ndarray) -> None:
    led = s.ledger
    got = np.bincount(led.lender, weights=called, minlength=s.n)
    top = _largest_counterparty(led.lender, led.borrower, called)
    for i in np.flatnonzero(ctx.calling).tolist():
        cp = top.get(i)
        ctx.tx[i] = (s.names[cp] if cp is not None else None, None, float(got[i]))


def _largest_counterparty(src: np.ndarray, dst: np.ndarray, amount: np.ndarray) -> dict[int, int]:
    """For each source bank, the destination of its largest positive amount."""
    hit = np.flatnonzero(amount > 0)
    if hit.size == 0:
        return {}
    order = hit[np.lexsort((-amount[hit], src[hit]))]
    first = order[np.r_[True, src[order][1:] != src[order][:-1]]]
    return dict(zip(src[first].tolist(), dst[first].tolist()))


# ----------------------------------------------------------------- 4. deposit flows
def deposit_flows(s: "BankingSystem", ctx: StepContext) -> None:
    df, sh = s.config.deposit_flows, s.config.shocks
    live = s.active
    dep = np.where(live, s.deposits, 0.0)
    raw = df.volatility * dep * ctx.draws["z_flow"]
    total = dep.sum()
    flow = raw - dep * (raw.sum() / total) if total > 0 else np.zeros(s.n)
    # deposits drift back toward their initial level (new depositors replace those lost to runs)
    flow += df.reversion * np.where(live, s.deposits0 - s.deposits, 0.0)
    # rare runs: money that leaves the system
    flow -= np.where(live & (ctx.draws["u_run"] < sh.withdrawal_prob), sh.withdrawal_size * dep, 0.0)
    for shock in s.scheduled.get(ctx.t, ()):
        if not live[shock.bank]:
            continue
        if shock.type == "deposit_withdrawal":
            flow[shock.bank] -= shock.size * s.deposits[shock.bank]
        elif shock.type == "capital_loss":
            s.cash[shock.bank] -= shock.size * s.capital0[shock.bank]
    flow = np.maximum(flow, -dep)
    s.deposits += flow
    s.cash += flow


# ----------------------------------------------------------------- 5. funding market
def funding_market(s: "BankingSystem", ctx: StepContext) -> None:
    cfg = s.config
    n = s.n
    required = s.required_reserves()
    request = np.where(s.active, np.maximum(required - s.cash, 0.0), 0.0)
    supply = np.where(s.active & (request == 0), np.minimum(ctx.offers, np.maximum(s.cash - required, 0.0)), 0.0)
    led = s.ledger
    lender, borrower, amount = funding.match(request, supply, led.lender, led.borrower, s.lender_order, s.leverage(), reach=cfg.network.reach)
    rate = s.quote()[borrower]
    s.cash += np.bincount(borrower, weights=amount, minlength=n) - np.bincount(lender, weights=amount, minlength=n)
    led.add(lender, borrower, amount, rate, ctx.t + cfg.funding.maturity)
    received = np.bincount(borrower, weights=amount, minlength=n)
    s.funding = {
        "requested": request, "received": received, "unmet": np.maximum(request - received, 0.0),
        "rate": float(np.average(rate, weights=amount)) if amount.size else float("nan"),
        "offered": float(supply.sum()), "lent": float(amount.sum()),
    }
    if s.log.enabled:
        lent = np.bincount(lender, weights=amount, minlength=n)
        top = _largest_counterparty(lender, borrower, amount)
        for i in np.flatnonzero(ctx.acts == LEND).tolist():
            cp = top.get(i)
            ctx.tx[i] = (s.names[cp] if cp is not None else None, None, float(lent[i]))


# ----------------------------------------------------------------- 6. liquidity fallback
def liquidity_fallback(s: "BankingSystem", ctx: StepContext) -> None:
    cfg = s.config
    # a) obligations beyond cash: fire sale of market positions
    owe = np.where(s.active, np.maximum(-s.cash, 0.0), 0.0)
    ctx.shortfall = owe
    if owe.any():
        proceeds, sold = s.fire_sell(owe / (1.0 - cfg.clearing.fire_sale_discount))
        s.cash += proceeds
        s.impact(-sold)
        s.fire_sales += float(sold.sum())
    # b) the central bank's lending facility, up to the reserve requirement, against collateral
    if cfg.central_bank.enabled:
        need = np.where(s.active, np.maximum(s.required_reserves() - s.cash, 0.0), 0.0)
        need[need < 1e-9 * s.capital0] = 0.0  # rounding dust is not a facility draw
        draw = np.minimum(need, s.collateral_capacity())
        if draw.any():
            s.cb_loans += draw
            s.cash += draw
            s.cb_events("lending_facility", draw)
    # c) early sale of the loan book at a discount
    owe = np.where(s.active, np.maximum(-s.cash, 0.0), 0.0)
    if owe.any():
        disc = 1.0 - cfg.clearing.book_discount
        sold = np.minimum(owe / disc, s.book)
        s.book -= sold
        s.cash += sold * disc
        s.book_sales += float(sold.sum())


# ----------------------------------------------------------------- 7. booking
def booking(s: "BankingSystem", ctx: StepContext) -> None:
    if ctx.t % s.config.profit_booking_every == 0:
        s.book_profits(ctx.t)


# ----------------------------------------------------------------- 8. defaults
def defaults(s: "BankingSystem", ctx: StepContext) -> None:
    ctx.new_defaults, ctx.cascade_depth = s.resolve_defaults()




def validate_actions(s: "BankingSystem", actions_in: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(executed actions, invalid flags): masked or out-of-range actions become HOLD; gone banks -1."""
    acts = np.asarray(actions_in, dtype=np.int64).copy()
    if acts.shape != (s.n,):
        raise ValueError(f"actions must have shape ({s.n},), got {acts.shape}")
    mask = s.action_mask()
    in_range = (acts >= 0) & (acts < N_ACTIONS)
    valid = np.zeros(s.n, dtype=bool)
    valid[in_range] = mask[np.flatnonzero(in_range), acts[in_range]]
    invalid = s.active & ~valid
    acts[invalid] = HOLD
    acts[~s.active] = -1
    return acts, invalid


def transactions(s: "BankingSystem", ctx: StepContext) -> None:
    """Emit one ``transaction`` event per bank that traded (after the funding market settled LEND)."""
    if not s.log.enabled:
        return
    prio = s.priorities
    for i in sorted(ctx.tx):
        cp, market, x = ctx.tx[i]
        s.log.emit(ctx.t, "transaction", {
            "bank": s.names[i], "action": ACTIONS[ctx.acts[i]], "counterparty": cp,
            "market": market, "amount": float(x), "priority": PRIORITIES[int(prio[i])],
        })


PHASES: tuple[Callable[["BankingSystem", StepContext], None], ...] = (
    actions, markets, interest_and_maturities, deposit_flows, funding_market, transactions,
    liquidity_fallback, booking, defaults,
)

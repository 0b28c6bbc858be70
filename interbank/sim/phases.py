"""The step as a pipeline of small named phases over a ``BankingSystem``.

Each phase is a function ``phase(system, ctx)``; ``PHASES`` lists them in
order and ``BankingSystem.step`` runs them. ``StepContext`` carries what one
phase hands to the next (validated actions, the step's random draws, market
flows, LEND offers, transaction records).

Order within a step and why:

1. ``actions``: INVEST and DIVEST trade at the midpoint of the price move their
   net flow causes; LEND offers and BORROW calls are recorded (settled in 3 and 5).
2. ``markets``: the transient impact decays, values take a random-walk step
   with drift (``interbank.sim.market``), the net flow moves prices, crashes.
3. ``interest_and_maturities``: the income statement (interest on the book,
   fees, reserves at the deposit facility, deposits, operating costs; interest
   capitalised on interbank and central bank loans; credit surprises on the
   book); the part of its loans a BORROW-ing lender calls is due now; at
   maturity a borrower repays out of its spare cash (the facility first, the
   dearest source) and the rest rolls over, repriced.
4. ``deposit_flows``: zero-sum deposit flows between banks, reversion toward
   the initial deposits and rare runs (households' money), scheduled shocks.
5. ``funding_market``: banks short of their reserve requirement request
   funding; LEND supply is matched to the requests (``interbank.sim.funding``)
   at the scarcity-priced market rate.
6. ``transactions``: one event per bank that traded.
7. ``liquidity_fallback``: what is still missing is covered by cost (the
   pecking order): the central bank's lending facility against collateral,
   then fire sales of market positions, then early sale of the loan book; a
   bank still short is illiquid.
8. ``booking``: profit booking every ``profit_booking_every`` steps.
9. ``defaults``: illiquid and insolvent banks default; clearing and fire
   sales cascade until no new default.

Every dollar a phase moves between a bank and the outside is recorded in the
sector accounts (``interbank.sim.accounts``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

import numpy as np

from interbank.sim import funding, market
from interbank.sim.actions import ACTIONS, BORROW, DIVEST, HOLD, INVEST, LEND, N_ACTIONS, PRIORITIES
from interbank.sim.columns import scale_columns

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


def _first_largest(values: np.ndarray) -> np.ndarray:
    """``np.argmax(values, axis=1)`` for a 2-D float array without NaN, a column at a time."""
    best = values[:, 0].copy()
    pick = np.zeros(values.shape[0], np.int64)
    for j in range(1, values.shape[1]):
        higher = values[:, j] > best
        pick[higher] = j
        np.maximum(best, values[:, j], out=best)
    return pick


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
    sell_mkt = _first_largest(scale_columns(s.holdings[sellers], s.price))
    units = a.divest_fraction * s.holdings[sellers, sell_mkt]
    flow = np.bincount(buy_mkt, weights=buy, minlength=s.m) - np.bincount(sell_mkt, weights=units * s.price[sell_mkt], minlength=s.m)
    ctx.flow += flow
    executed = s.price * np.exp(0.5 * s.config.markets.impact * flow / s.depth)
    if investors.size:
        bought = buy / executed[buy_mkt]
        s.holdings[investors, buy_mkt] += bought
        s.basis[investors, buy_mkt] += buy
        s.cash[investors] -= buy
        s.accounts.trade(-np.bincount(buy_mkt, weights=bought, minlength=s.m), -buy)
    if sellers.size:
        proceeds = units * executed[sell_mkt]
        s.holdings[sellers, sell_mkt] -= units
        s.basis[sellers, sell_mkt] *= 1.0 - a.divest_fraction
        s.cash[sellers] += proceeds
        s.accounts.trade(np.bincount(sell_mkt, weights=units, minlength=s.m), proceeds)
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
    s.transient *= market.decay(mk.impact_half_life)
    mu = market.compensated_drift(mk.drift, sh.crash_prob, sh.crash_size)
    s.log_value += mu - 0.5 * mk.volatility ** 2 + mk.volatility * ctx.draws["z_mkt"]
    if mk.reversion > 0:  # env v2's pull toward a drifting fundamental (predictable; off by default)
        s.log_value -= mk.reversion * (s.log_value - np.log(s.price0) - mk.drift * ctx.t)
    s.log_value[ctx.draws["u_crash"] < sh.crash_prob] += np.log1p(-sh.crash_size)
    for shock in s.scheduled.get(ctx.t, ()):
        if shock.type == "market_crash":
            s.log_value[s.markets.index(shock.market)] += np.log1p(-min(shock.size, 1.0 - 1e-12))
    s.impact(ctx.flow)  # reprices (the move recorded as market moves)
    np.maximum(s.log_value, np.log(mk.price_floor * s.price0) - s.transient, out=s.log_value)


# ---------------------------------------------------- 3. interest and maturities
def interest_and_maturities(s: "BankingSystem", ctx: StepContext) -> None:
    cfg = s.config
    per = cfg.per_step
    n, t = s.n, ctx.t
    led = s.ledger
    live = s.active
    r, inc, acc = cfg.rates, s.income, s.accounts
    # the income statement: money flows with the real economy (book interest, fees, costs), the
    # central bank (reserves at the deposit facility) and households (deposit interest)
    book_interest = np.where(live, per(r.book) * s.book, 0.0)
    fees = np.where(live, per(r.fees) * s.book, 0.0)
    reserves = np.where(live, per(s.deposit_facility_rate) * np.maximum(s.cash, 0.0), 0.0)
    deposit_interest = np.where(live, per(r.deposit) * s.deposits, 0.0)
    costs = np.where(live, per(r.operating_cost) * s.book + per(r.fixed_cost) * s.capital0 * s.target_leverage, 0.0)
    s.cash += book_interest + fees + reserves - deposit_interest - costs
    acc.add("book_interest", book_interest.sum())
    acc.add("fees", fees.sum())
    acc.add("operating_costs", -costs.sum())
    acc.central_bank -= float(reserves.sum())
    acc.households += float(deposit_interest.sum())
    # interest capitalised on interbank loans (bank to bank) and on the central bank's loans
    accrued = led.amount * led.rate / cfg.steps_per_year
    cb_interest = s.cb_loans * per(s.lending_rate)
    led.amount += accrued
    s.cb_loans += cb_interest
    inc["interest_income"] += book_interest + reserves + np.bincount(led.lender, weights=accrued, minlength=n)
    inc["interest_expense"] += deposit_interest + cb_interest + np.bincount(led.borrower, weights=accrued, minlength=n)
    inc["fee_income"] += fees
    inc["operating_cost"] += costs
    # credit surprises on the book (its value moves; a real-economy flow)
    vol = r.book_volatility / np.sqrt(cfg.steps_per_year)
    before = s.book.copy()
    s.book *= np.exp(vol * ctx.draws["z_book"] - 0.5 * vol ** 2)
    surprise = s.book - before
    inc["credit_result"] += surprise
    acc.add("credit_surprises", surprise.sum())
    s.invalidate()

    # calls (BORROW: the lender refuses to roll over call_fraction of every loan, due now);
    # the rest rolls over at maturity, repriced at the borrower's current rate
    calls = ctx.calling[led.lender]
    called = cfg.actions.call_fraction * led.amount * calls
    # a remainder below the minimum trade is called in full, so calls end links (tested on the
    # called records only: the same elementwise test as over the whole ledger)
    at = np.flatnonzero(calls)
    dust = at[led.amount[at] - called[at] < cfg.actions.min_trade * s.capital0[led.lender[at]]]
    called[dust] = led.amount[dust]
    led.amount -= called
    s.cash += np.bincount(led.lender, weights=called, minlength=n) - np.bincount(led.borrower, weights=called, minlength=n)
    s.invalidate()
    # at maturity a borrower repays out of its cash above its working balance: the facility first
    # (the dearest source), then its maturing interbank loans, pro rata; the rest rolls over, repriced
    spare = np.where(live, np.maximum(s.cash - cfg.funding.repay_buffer * s.required_reserves(), 0.0), 0.0)
    back = np.minimum(spare, s.cb_loans)
    if back.any():
        s.cb_loans -= back
        s.cash -= back
        spare -= back
        s.cb_events("repayment", back)
    due = (led.due <= t) & (led.amount > 0)
    if due.any():
        owed = np.bincount(led.borrower[due], weights=led.amount[due], minlength=n)
        share = np.divide(np.minimum(spare, owed), owed, out=np.zeros(n), where=owed > 0)  # in [0, 1]
        repaid = np.zeros(len(led))  # np.where(due, led.amount * share[led.borrower], 0.0), on the due records only
        at = np.flatnonzero(due)
        repaid[at] = led.amount[at] * share[led.borrower[at]]
        led.amount -= repaid
        s.cash += np.bincount(led.lender, weights=repaid, minlength=n) - np.bincount(led.borrower, weights=repaid, minlength=n)
        s.invalidate()
        roll = due & (led.amount > 0)
        led.rate[roll] = s.quote()[led.borrower[roll]]
        led.due[roll] = t + cfg.funding.maturity
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
            lost = shock.size * s.capital0[shock.bank]
            s.cash[shock.bank] -= lost
            s.income["other"][shock.bank] -= lost
            s.accounts.add("capital_shocks", -lost)
    flow = np.maximum(flow, -dep)
    s.deposits += flow
    s.cash += flow
    # the zero-sum part moves deposits between banks; the rest (reversion, runs, clipping) is
    # households' money entering or leaving the banks
    s.accounts.households -= float(flow.sum())


# ----------------------------------------------------------------- 5. funding market
def funding_market(s: "BankingSystem", ctx: StepContext) -> None:
    cfg = s.config
    n = s.n
    required = s.required_reserves()
    request = np.where(s.active, np.maximum(required - s.cash, 0.0), 0.0)
    supply = np.where(s.active & (request == 0), np.minimum(ctx.offers, np.maximum(s.cash - required, 0.0)), 0.0)
    led = s.ledger
    s.market_rate = funding.market_rate(float(request.sum()), float(supply.sum()), s.deposit_facility_rate, s.lending_rate)
    # existing counterparties: the loans outstanding and the recent relationships
    known_lender, known_borrower = s.relationships.pairs(ctx.t)
    if not _ledger_within_relationships(s, ctx.t):
        known_lender = np.concatenate([led.lender, known_lender])
        known_borrower = np.concatenate([led.borrower, known_borrower])
    leverage = s.leverage()  # nothing moves between the match and the pricing: one leverage for both
    lender, borrower, amount = funding.match(request, supply, known_lender, known_borrower, s.lender_order, leverage,
                                             reach=cfg.network.reach,
                                             dealers=s.intermediation_capacity() if cfg.funding.dealers else None)
    rate = s.quote(leverage)[borrower]
    # net of a dealer's two legs: what a requesting bank received, what a supplying bank lent
    net = np.bincount(borrower, weights=amount, minlength=n) - np.bincount(lender, weights=amount, minlength=n)
    s.cash += net
    led.add(lender, borrower, amount, rate, ctx.t + cfg.funding.maturity)
    # with the loans rolled over this step; the pairs of the loans made or rolled over this step
    dealt = led.merge_due(ctx.t + cfg.funding.maturity, n)
    led.compact()
    s.relationships.remember_keys(dealt, ctx.t)
    received = np.maximum(net, 0.0)
    s.liquidity_sources["interbank"] += float(received.sum())
    s.funding = {
        "requested": request, "received": received, "unmet": np.maximum(request - received, 0.0),
        "rate": float(np.average(rate, weights=amount)) if amount.size else float("nan"),
        "offered": float(supply.sum()), "lent": float(np.maximum(-net, 0.0).sum()),
    }
    if s.log.enabled:
        lent = np.bincount(lender, weights=amount, minlength=n)
        top = _largest_counterparty(lender, borrower, amount)
        for i in np.flatnonzero(ctx.acts == LEND).tolist():
            cp = top.get(i)
            ctx.tx[i] = (s.names[cp] if cp is not None else None, None, float(lent[i]))


def _ledger_within_relationships(s: "BankingSystem", t: int) -> bool:
    """Whether every loan outstanding is between a pair among the relationships alive at step ``t``,
    so that the relationships alone are the set of existing counterparties (the same set ``match``
    would get with the ledger's pairs added; it treats the pairs as a set: repeats change nothing).

    A record is made, or rolled over, at its due step minus the maturity (rolled when it falls due,
    and never left past due), and that pair is remembered at that step; the initial links are
    remembered at step 0 and due within the first maturity. So when no record is past due and the
    relationships last at least a maturity, every record's pair was dealt within the memory."""
    led = s.ledger
    memory, maturity = s.relationships.memory, s.config.funding.maturity
    return memory > 0 and memory >= maturity and (len(led) == 0 or int(led.due.min()) >= t)


# ----------------------------------------------------------------- 6. liquidity fallback
def liquidity_fallback(s: "BankingSystem", ctx: StepContext) -> None:
    """The pecking order by cost (Shleifer & Vishny 2011): what the market did not cover goes to
    the central bank's facility (the penalty rate for a week costs far less than a fire sale),
    then to fire sales of market positions, then to early sale of the loan book."""
    cfg = s.config
    src = s.liquidity_sources
    ctx.shortfall = np.where(s.active, np.maximum(-s.cash, 0.0), 0.0)
    # a) the central bank's lending facility, up to the reserve requirement, against collateral
    if cfg.central_bank.enabled:
        need = np.where(s.active, np.maximum(s.required_reserves() - s.cash, 0.0), 0.0)
        need[need < 1e-9 * s.capital0] = 0.0  # rounding dust is not a facility draw
        draw = np.minimum(need, s.collateral_capacity())
        if draw.any():
            s.cb_loans += draw
            s.cash += draw
            s.cb_events("lending_facility", draw)
            src["facility"] += float(draw.sum())
    # b) obligations still beyond cash: fire sale of market positions
    owe = np.where(s.active, np.maximum(-s.cash, 0.0), 0.0)
    if owe.any():
        proceeds, sold = s.fire_sell(owe / (1.0 - cfg.clearing.fire_sale_discount))
        s.cash += proceeds
        s.impact(-sold)
        s.fire_sales += float(sold.sum())
        src["fire_sale"] += float(proceeds.sum())
    # c) early sale of the loan book at a discount (to the markets' outside investors)
    owe = np.where(s.active, np.maximum(-s.cash, 0.0), 0.0)
    if owe.any():
        disc = 1.0 - cfg.clearing.book_discount
        sold = np.minimum(owe / disc, s.book)
        s.book -= sold
        s.cash += sold * disc
        s.book_sales += float(sold.sum())
        s.income["other"] -= sold * (1.0 - disc)
        s.accounts.investors_cash -= float((sold * disc).sum())
        s.accounts.investors_book += float(sold.sum())
        src["book_sale"] += float((sold * disc).sum())
    # what is still missing: the reserve requirement unmet (and any obligation unpaid: illiquid)
    src["unmet"] += float(np.where(s.active, np.maximum(s.required_reserves() - s.cash, 0.0), 0.0).sum())


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
    rows = np.flatnonzero(in_range)
    valid[rows] = mask.reshape(-1)[rows * N_ACTIONS + acts[rows]]  # mask[rows, acts[rows]], one flat gather
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

LEDGER_SUMS: tuple[str, ...] = ("loans_out", "borrowings")
"""The system's cache keys of the per-bank ledger sums (``BankingSystem.loans_out``/``borrowings``)."""
KEEPS_LEDGER_SUMS: frozenset[Callable[["BankingSystem", StepContext], None]] = frozenset({
    actions, markets, deposit_flows, transactions, liquidity_fallback, booking,
    # these change loan amounts, but invalidate the cache after every change (and read the sums
    # only after that); what they do to the ledger after their last read (new rates and due
    # steps, dropping records of amount 0) leaves the sums as they are, bit for bit
    interest_and_maturities, defaults,
})
"""Phases after which the cached ledger sums are still those of the ledger, so the step keeps
them (the other cached figures depend on cash, prices or holdings and are dropped)."""
KEEPS: dict[Callable[["BankingSystem", StepContext], None], tuple[str, ...]] = {
    **dict.fromkeys(KEEPS_LEDGER_SUMS, LEDGER_SUMS),
    # resolve_defaults leaves the equity it last computed, that of the state it ends in
    defaults: LEDGER_SUMS + ("equity",),
}
"""What the step keeps of the system's cache after each phase (nothing when a phase is not listed)."""

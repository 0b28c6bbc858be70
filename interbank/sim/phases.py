"""The step as a pipeline of small named phases over an explicit state.

Each phase is a function ``phase(state, params, ctx)`` over a ``BankState``
(``interbank.sim.state``) and the episode's ``Params``; it declares the state's
fields it reads and writes (``phase.reads``, ``phase.writes``; a test checks
the writes on every phase). ``PHASES`` lists them in order and ``run_phases``
runs them (``BankingSystem.step`` around it). ``StepContext`` carries what one
phase hands to the next (validated actions, the step's random draws, market
flows, LEND offers, transaction records, the event log) and the figures of the
state a phase starts from (``ctx.figures``: those the previous phases' writes
left valid; ``interbank.sim.figures``).

Order within a step and why:

0. ``validate_actions`` (before the phases): masked actions become HOLD.
1. ``actions``: INVEST and DIVEST trade at the midpoint of the price move their
   net flow causes; LEND offers and BORROW calls are recorded (settled in 3 and 5).
2. ``markets``: the transient impact decays, values take the step of the
   configured dynamic (``interbank.sim.market``; a random walk with drift by
   default), the net flow moves prices, crashes.
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

After the phases, ``BankingSystem.step`` books each open bank's market result
(what the other income lines leave of its equity change), rolls the price
history, and emits ``step_end`` (``interbank.sim.event_data``).

Every dollar a phase moves between a bank and the outside is recorded in the
sector accounts (``interbank.sim.accounts``).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Callable, Protocol

import numpy as np

from interbank.sim import defaults as defaults_, funding, market
from interbank.sim.actions import ACTIONS, BORROW, DIVEST, HOLD, INVEST, LEND, N_ACTIONS, PRIORITIES
from interbank.sim.columns import flat_cells, gather_cells, gather_rows, positive_part, update_cells
from interbank.sim.events import EventLog
from interbank.sim.figures import Figures, collateral_capacity, momentum, required_reserves
from interbank.sim.operations import book_profits, cb_events, fire_sell, impact
from interbank.sim.state import BankState, Params


@dataclass
class StepContext:
    """What the phases of one step share (arrays per bank unless stated).

    ``t``: the step; ``acts`` int[n]: the validated actions (-1 for gone banks); ``invalid``
    bool[n]: a masked action was sent; ``draws``: the step's random numbers (``draw_step``);
    ``log``: the event log (off in training). Written by the phases: ``flow`` float[m], dollars:
    the net market flow of INVEST and DIVEST (``actions``, read by ``markets``); ``offers``
    dollars: LEND supply (``actions`` -> ``funding_market``); ``calling`` bool[n]: BORROW
    (``actions`` -> ``interest_and_maturities``); ``shortfall`` dollars: obligations a bank had
    to cover beyond its cash (fire sales, facility, book sale, or default; ``liquidity_fallback``);
    ``tx``: bank -> (counterparty, market, amount) for the ``transaction`` events;
    ``new_defaults`` int[k] and ``cascade_depth`` (``defaults``).

    ``gone``: int[k], the banks not active, worked out by the first phase that asks (``_gone``)
    and kept until a phase that writes ``active`` has run (``run_phases``).

    ``figures``: the figures of the state the running phase starts from (valid until it writes);
    ``left``: set by a phase that computed the figures of the state it leaves (after its last
    write that changes them), so the next phases reuse them."""

    t: int
    acts: np.ndarray
    invalid: np.ndarray
    draws: dict[str, np.ndarray]
    flow: np.ndarray
    offers: np.ndarray
    calling: np.ndarray
    shortfall: np.ndarray
    log: EventLog = field(default_factory=lambda: EventLog(False))
    figures: Figures | None = None
    left: Figures | None = None
    gone: np.ndarray | None = None
    tx: dict[int, tuple[str | None, str | None, float]] = field(default_factory=dict)
    new_defaults: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    cascade_depth: int = 0


class Phase(Protocol):
    """A phase of the step: ``phase(state, params, ctx)``, with the state's fields it reads and writes."""

    reads: frozenset[str]
    writes: frozenset[str]
    __name__: str

    def __call__(self, state: BankState, params: Params, ctx: StepContext) -> None: ...


def phase(reads: tuple[str, ...], writes: tuple[str, ...]) -> Callable[[Callable[[BankState, Params, StepContext], None]], Phase]:
    """Declare a phase's reads and writes (``BankState`` field names; the fields fixed at reset,
    the parameters and the context are left out)."""
    def mark(fn: Callable[[BankState, Params, StepContext], None]) -> Phase:
        fn.reads = frozenset(reads)  # type: ignore[attr-defined]
        fn.writes = frozenset(writes)  # type: ignore[attr-defined]
        return fn  # type: ignore[return-value]
    return mark


def _first_largest(values: np.ndarray) -> np.ndarray:
    """``np.argmax(values, axis=1)`` for a 2-D float array without NaN, a column at a time (the
    largest so far kept only while a column is left to compare with it)."""
    m = values.shape[1]
    if m < 2:
        return np.zeros(values.shape[0], np.int64)
    best = values[:, 0]
    pick = (values[:, 1] > best).astype(np.int64)  # (column 1 beats column 0: its index is 1)
    for j in range(2, m):
        best = np.maximum(best, values[:, j - 1])
        pick[values[:, j] > best] = j
    return pick


def _market_picked(cdf: np.ndarray, u: np.ndarray) -> np.ndarray:
    """int64[k]: ``np.minimum(np.searchsorted(cdf, u, side="right"), m - 1)`` for a cumulative
    distribution ``cdf`` (float[m], non-decreasing, NaN only at its end) and draws ``u`` without
    NaN: with few markets, how many of the first m - 1 entries are <= each draw, counted by one
    comparison per market (searchsorted's binary search costs several times as much)."""
    m = cdf.size
    if m > 4 or m < 2:
        return np.minimum(np.searchsorted(cdf, u, side="right"), m - 1)
    picked = (u >= cdf[0]).astype(np.int64)
    for j in range(1, m - 1):
        picked += u >= cdf[j]
    return picked


def _gone(state: BankState, ctx: StepContext) -> np.ndarray:
    """int[k]: the banks not active (defaulted or deleted), shared by the phases of a step (``ctx.gone``)."""
    if ctx.gone is None:
        ctx.gone = (~state.active).nonzero()[0]
    return ctx.gone


def _start_figures(state: BankState, params: Params, ctx: StepContext) -> Figures:
    """The figures of the state as the phase starts: ``ctx.figures`` (``run_phases`` hands them
    on), or new ones when a phase runs alone."""
    return ctx.figures or Figures(state, params)


def _live(x: np.ndarray, gone: np.ndarray) -> np.ndarray:
    """``np.where(active, x, 0.0)`` for a fresh array ``x`` (zeroed in place at ``gone``, ``_gone``)."""
    x[gone] = 0.0
    return x


def _overdrawn(cash: np.ndarray, gone: np.ndarray) -> np.ndarray:
    """``_live(np.maximum(-cash, 0.0), gone)``: what each active bank's cash is below zero, in one buffer."""
    owe = np.negative(cash)
    return _live(positive_part(owe, out=owe), gone)


def draw_step(state: BankState, params: Params) -> dict[str, np.ndarray]:
    """The step's random numbers, drawn whatever the actions, so two policies on the same seed
    face the same shocks: ``u_mkt`` (INVEST's market choice), ``u_run`` (deposit runs),
    ``z_flow`` (deposit flows), ``z_book`` (credit surprises), float[n]; ``z_mkt`` (correlated
    market shocks), ``u_crash`` (crashes), float[m]. Advances ``state.rng``."""
    rng, n = state.rng, params.n
    return {
        "u_mkt": rng.random(n), "u_run": rng.random(n), "z_flow": rng.standard_normal(n),
        "z_book": rng.standard_normal(n), "z_mkt": state.chol @ rng.standard_normal(params.m),
        "u_crash": rng.random(params.m),
    }


def validate_actions(state: BankState, params: Params, mask: np.ndarray, actions_in: np.ndarray,
                     gone: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(executed actions, invalid flags): masked (``mask``: the action mask of the state now) or
    out-of-range actions become HOLD; gone banks -1 (``gone``: their indices when the caller has
    them, ``_gone``)."""
    n = params.n
    acts = np.asarray(actions_in, dtype=np.int64).copy()
    if acts.shape != (n,):
        raise ValueError(f"actions must have shape ({n},), got {acts.shape}")
    unsigned = acts.view(np.uint64)  # (a negative action reads as a huge unsigned one)
    if unsigned.max() < N_ACTIONS:  # every action in range: mask[i, acts[i]] for every bank, one flat gather
        valid = mask.reshape(-1).take(_row_starts(n) + acts)
    else:
        valid = np.zeros(n, dtype=bool)
        rows = (unsigned < N_ACTIONS).nonzero()[0]
        valid[rows] = mask.reshape(-1)[rows * N_ACTIONS + acts[rows]]  # mask[rows, acts[rows]], one flat gather
    invalid = state.active & ~valid
    acts[invalid] = HOLD
    acts[(~state.active).nonzero()[0] if gone is None else gone] = -1
    return acts, invalid


@functools.lru_cache(maxsize=4)
def _row_starts(n: int) -> np.ndarray:
    """int64[n], read-only: where each bank's row starts in the action mask's flat view (one per size)."""
    starts = np.arange(0, n * N_ACTIONS, N_ACTIONS)
    starts.flags.writeable = False
    return starts


# ----------------------------------------------------------------- 1. actions
@phase(reads=("cash", "deposits", "price", "price_hist", "holdings", "basis"),
       writes=("holdings", "basis", "cash", "accounts"))
def actions(state: BankState, params: Params, ctx: StepContext) -> None:
    """INVEST and DIVEST trade; LEND offers and BORROW calls are recorded in ``ctx``."""
    a = params.config.actions
    acts = ctx.acts
    fig = _start_figures(state, params, ctx)  # (the mask's: the step validated the actions on them)
    lend, invest = fig.trade_sizes
    record = ctx.log.enabled
    m = params.m

    # INVEST and DIVEST trade together: the net flow moves each market's price, and every trade
    # executes at the midpoint of the move (the average cost of a linear impact), so a crowd that
    # buys together pays up and one that sells together gets less: no free round trip
    investors = (acts == INVEST).nonzero()[0]
    logits = momentum(state) / a.momentum_temperature
    p = np.exp(logits - logits.max())
    cdf = np.cumsum(p / p.sum())
    buy_mkt = _market_picked(cdf, ctx.draws["u_mkt"][investors])
    buy = invest[investors]
    sellers = (acts == DIVEST).nonzero()[0]
    # each seller's largest position (the sheet's values: units x price, as over these rows alone)
    sell_mkt = _first_largest(gather_rows(fig.sheet[0]["investments"], sellers))
    # the cells traded, positions in the flat views of the holdings and of their basis (one shape)
    bought_at, sold_at = flat_cells(investors, buy_mkt, m), flat_cells(sellers, sell_mkt, m)
    units = a.divest_fraction * gather_cells(state.holdings, sellers, sell_mkt, sold_at)
    flow = (np.bincount(buy_mkt, weights=buy, minlength=m)
            - np.bincount(sell_mkt, weights=units * state.price[sell_mkt], minlength=m))
    ctx.flow += flow
    executed = state.price * np.exp(0.5 * params.config.markets.impact * flow / state.depth)
    if investors.size:
        bought = buy / executed[buy_mkt]
        update_cells(state.holdings, investors, buy_mkt, np.add, bought, bought_at)
        update_cells(state.basis, investors, buy_mkt, np.add, buy, bought_at)
        state.cash[investors] -= buy
        state.accounts.trade(-np.bincount(buy_mkt, weights=bought, minlength=m), -buy)
    if sellers.size:
        proceeds = units * executed[sell_mkt]
        update_cells(state.holdings, sellers, sell_mkt, np.subtract, units, sold_at)
        update_cells(state.basis, sellers, sell_mkt, np.multiply, 1.0 - a.divest_fraction, sold_at)
        state.cash[sellers] += proceeds
        state.accounts.trade(np.bincount(sell_mkt, weights=units, minlength=m), proceeds)
    if record:
        for i, mm, x in zip(investors.tolist(), buy_mkt.tolist(), buy.tolist()):
            ctx.tx[i] = (None, params.markets[mm], x)
        for i, mm, x in zip(sellers.tolist(), sell_mkt.tolist(), (units * executed[sell_mkt]).tolist()):
            ctx.tx[i] = (None, params.markets[mm], x)

    # each LEND-ing bank's offer (0 elsewhere)
    ctx.offers = np.where(acts == LEND, lend, 0.0)
    ctx.calling = acts == BORROW


# ----------------------------------------------------------------- 2. markets
@phase(reads=("price", "log_value", "transient", "holdings", "accounts", "market_memory"),
       writes=("price_before", "transient", "log_value", "price", "accounts", "market_memory"))
def markets(state: BankState, params: Params, ctx: StepContext) -> None:
    """Impact decays, values take the dynamic's random step (``markets.dynamic``: a random walk with
    drift by default), the step's net flow moves prices, crashes."""
    mk, sh = params.config.markets, params.config.shocks
    state.price_before = state.price.copy()
    state.transient *= market.decay(mk.impact_half_life)
    market.MARKET_DYNAMICS.entries[mk.dynamic.type](state, params, ctx)
    state.log_value[ctx.draws["u_crash"] < sh.crash_prob] += np.log1p(-sh.crash_size)
    for shock in params.scheduled.get(ctx.t, ()):
        if shock.type == "market_crash":
            state.log_value[params.markets.index(shock.market)] += np.log1p(-min(shock.size, 1.0 - 1e-12))
    impact(state, params, ctx.flow)  # reprices (the move recorded as market moves)
    np.maximum(state.log_value, np.log(mk.price_floor * state.price0) - state.transient, out=state.log_value)


# ---------------------------------------------------- 3. interest and maturities
def customer_rates(state: BankState, params: Params) -> tuple[float, float]:
    """(deposit rate, book yield), annual: the configured rates plus the central bank's pass-through
    of the policy rate's move from its configured level (``central_bank.deposit_pass_through`` and
    ``book_pass_through``; at 0, the default, exactly the configured rates)."""
    r, cb = params.config.rates, params.config.central_bank
    move = state.policy_rate - cb.policy_rate
    deposit = r.deposit if cb.deposit_pass_through == 0 else max(r.deposit + cb.deposit_pass_through * move, 0.0)
    book = r.book if cb.book_pass_through == 0 else r.book + cb.book_pass_through * move
    return deposit, book


@phase(reads=("cash", "book", "deposits", "cb_loans", "cb_term", "ledger", "active", "deposit_facility_rate", "lending_rate",
              "market_rate", "holdings", "price", "income", "accounts", "policy_rate"),
       writes=("cash", "book", "cb_loans", "ledger", "income", "accounts"))
def interest_and_maturities(state: BankState, params: Params, ctx: StepContext) -> None:
    """The income statement, interest capitalised, credit surprises, calls, repayments, rollovers."""
    cfg = params.config
    per = cfg.per_step
    n, t = params.n, ctx.t
    led = state.ledger
    r, inc, acc = cfg.rates, state.income, state.accounts
    # the income statement: money flows with the real economy (book interest, fees, costs), the
    # central bank (reserves at the deposit facility) and households (deposit interest)
    gone = _gone(state, ctx)
    fig = _start_figures(state, params, ctx)  # (its fixed costs and smallest trade: of fields fixed at reset)
    deposit_rate, book_rate = customer_rates(state, params)
    book_interest = _live(per(book_rate) * state.book, gone)
    fees = _live(per(r.fees) * state.book, gone)
    reserves = _live(per(state.deposit_facility_rate) * positive_part(state.cash), gone)
    deposit_interest = _live(per(deposit_rate) * state.deposits, gone)
    costs = _live(per(r.operating_cost) * state.book + fig.fixed_costs, gone)
    # (the sums below, left to right as written in one expression, in a buffer instead of four temporaries)
    flow = book_interest + fees
    flow += reserves
    flow -= deposit_interest
    flow -= costs
    state.cash += flow
    acc.add("book_interest", book_interest.sum())
    acc.add("fees", fees.sum())
    acc.add("operating_costs", -costs.sum())
    acc.central_bank -= float(reserves.sum())
    acc.households += float(deposit_interest.sum())
    # interest capitalised on interbank loans (bank to bank) and on the central bank's loans
    accrued = led.amount * led.rate
    accrued /= cfg.steps_per_year  # (amount * rate / steps_per_year, in place)
    cb_interest = state.cb_loans * per(state.lending_rate)
    led.amount += accrued
    state.cb_loans += cb_interest
    # book_interest + reserves + the accrued lent, left to right, in book_interest's buffer (its
    # last use; deposit_interest's likewise)
    book_interest += reserves
    book_interest += np.bincount(led.lender, weights=accrued, minlength=n)
    inc["interest_income"] += book_interest
    deposit_interest += cb_interest
    deposit_interest += np.bincount(led.borrower, weights=accrued, minlength=n)
    inc["interest_expense"] += deposit_interest
    inc["fee_income"] += fees
    inc["operating_cost"] += costs
    # credit surprises on the book (its value moves; a real-economy flow)
    vol = r.book_volatility / np.sqrt(cfg.steps_per_year)
    before = state.book.copy()
    growth = vol * ctx.draws["z_book"]
    growth -= 0.5 * vol ** 2
    state.book *= np.exp(growth, out=growth)
    surprise = state.book - before
    inc["credit_result"] += surprise
    acc.add("credit_surprises", surprise.sum())

    # calls (BORROW: the lender refuses to roll over call_fraction of every loan, due now);
    # the rest rolls over at maturity, repriced at the borrower's current rate
    # (on the called records only: the others give 0, and a per-bank sum in ledger order is the
    # same without its zero terms)
    calls = ctx.calling.take(led.lender).nonzero()[0]  # (``take``: 1-D gathers without fancy indexing's set-up)
    amount = led.amount.take(calls)
    callers = led.lender.take(calls)
    called = cfg.actions.call_fraction * amount
    # a remainder below the minimum trade is called in full, so calls end links
    remainder = amount - called
    np.copyto(called, amount, where=remainder < fig.trade_terms.min_trade.take(callers))
    np.subtract(amount, called, out=remainder)
    led.amount[calls] = remainder
    state.cash += (np.bincount(callers, weights=called, minlength=n)
                   - np.bincount(led.borrower.take(calls), weights=called, minlength=n))
    # at maturity a borrower repays out of its cash above its working balance: the facility first
    # (the dearest source), then its maturing interbank loans, pro rata; the rest rolls over, repriced
    # (max(cash - repay_buffer * required, 0), in one buffer)
    spare = cfg.funding.repay_buffer * required_reserves(state, params)
    spare = _live(positive_part(np.subtract(state.cash, spare, out=spare), out=spare), gone)
    # (what the central bank agent lent for a term, ``cb_term``, stays until its next decision)
    back = state.cb_loans - state.cb_term
    back = np.minimum(spare, positive_part(back, out=back), out=back)
    if back.any():
        state.cb_loans -= back
        state.cash -= back
        spare -= back
        cb_events(state, params, ctx.log, "repayment", back)
    at = ((led.due <= t) & (led.amount > 0)).nonzero()[0]  # the due records (the others repay nothing)
    if at.size:
        lender, borrower, amount = led.lender.take(at), led.borrower.take(at), led.amount.take(at)
        owed = np.bincount(borrower, weights=amount, minlength=n)
        owing = (owed > 0).nonzero()[0]  # the borrowers of the due records (a few dozen: borrowing is concentrated)
        share = np.zeros(n)
        share[owing] = np.minimum(spare[owing], owed[owing]) / owed[owing]  # in [0, 1]
        repaid = amount * share[borrower]
        left = amount - repaid
        led.amount[at] = left
        state.cash += (np.bincount(lender, weights=repaid, minlength=n)
                       - np.bincount(borrower, weights=repaid, minlength=n))
        # the figures of the state this phase leaves: what follows (new rates and due steps,
        # dropping records of amount 0) changes none of them, bit for bit
        # (those of the state the phase started from that it did not write: the positions' total)
        ctx.left = fig.carry(interest_and_maturities.writes)
        rolling = (left > 0).nonzero()[0]
        roll = at[rolling]
        # quoted for the banks that owe, each with the arithmetic of the full ``quote()``, element for element
        quotes = np.empty(n)
        quotes[owing] = ctx.left.quote_at(owing)
        led.rate[roll] = quotes[borrower[rolling]]
        led.due[roll] = t + cfg.funding.maturity
    if ctx.log.enabled:
        _record_calls(state, params, ctx, calls, called)
    # the records left at 0 (repaid, called in full) are dropped by the funding market's
    # ``Ledger.deal``, with those its merge leaves at 0: one pass over the ledger a step instead of two


def _record_calls(state: BankState, params: Params, ctx: StepContext, calls: np.ndarray, called: np.ndarray) -> None:
    """``called`` dollars on the ledger's records ``calls``."""
    led = state.ledger
    got = np.bincount(led.lender[calls], weights=called, minlength=params.n)
    top = _largest_counterparty(led.lender[calls], led.borrower[calls], called)
    for i in ctx.calling.nonzero()[0].tolist():
        cp = top.get(i)
        ctx.tx[i] = (params.names[cp] if cp is not None else None, None, float(got[i]))


def _largest_counterparty(src: np.ndarray, dst: np.ndarray, amount: np.ndarray) -> dict[int, int]:
    """For each source bank, the destination of its largest positive amount."""
    hit = (amount > 0).nonzero()[0]
    if hit.size == 0:
        return {}
    order = hit[np.lexsort((-amount[hit], src[hit]))]
    first = order[np.r_[True, src[order][1:] != src[order][:-1]]]
    return dict(zip(src[first].tolist(), dst[first].tolist()))


# ----------------------------------------------------------------- 4. deposit flows
@phase(reads=("deposits", "deposits0", "active", "cash"), writes=("deposits", "cash", "income", "accounts"))
def deposit_flows(state: BankState, params: Params, ctx: StepContext) -> None:
    """Zero-sum flows between banks, reversion to the initial deposits, runs, scheduled shocks."""
    df, sh = params.config.deposit_flows, params.config.shocks
    live = state.active
    gone = _gone(state, ctx)
    dep = _live(state.deposits.copy(), gone)
    raw = df.volatility * dep * ctx.draws["z_flow"]
    total = dep.sum()
    flow = raw - dep * (raw.sum() / total) if total > 0 else np.zeros(params.n)
    # deposits drift back toward their initial level (new depositors replace those lost to runs)
    flow += df.reversion * _live(state.deposits0 - state.deposits, gone)
    # rare runs: money that leaves the system
    run = (live & (ctx.draws["u_run"] < sh.withdrawal_prob)).nonzero()[0]  # the few banks a run hits
    flow[run] -= sh.withdrawal_size * dep[run]
    for shock in params.scheduled.get(ctx.t, ()):
        if shock.bank is None or not live[shock.bank]:  # a market crash (no bank) is the markets phase's
            continue
        if shock.type == "deposit_withdrawal":
            flow[shock.bank] -= shock.size * state.deposits[shock.bank]
        elif shock.type == "capital_loss":
            lost = shock.size * state.capital0[shock.bank]
            state.cash[shock.bank] -= lost
            state.income["other"][shock.bank] -= lost
            state.accounts.add("capital_shocks", -lost)
    flow = np.maximum(flow, -dep)
    state.deposits += flow
    state.cash += flow
    # the zero-sum part moves deposits between banks; the rest (reversion, runs, clipping) is
    # households' money entering or leaving the banks
    state.accounts.households -= float(flow.sum())


# ----------------------------------------------------------------- 5. funding market
@phase(reads=("cash", "deposits", "active", "ledger", "relationships", "deposit_facility_rate", "lending_rate",
              "book", "holdings", "price", "cb_loans", "min_capital_ratio"),
       writes=("market_rate", "cash", "ledger", "relationships", "liquidity_sources", "funding"))
def funding_market(state: BankState, params: Params, ctx: StepContext) -> None:
    """Requests for the reserve shortfall matched to LEND supply at the scarcity-priced rate."""
    cfg = params.config
    n = params.n
    fig = ctx.figures  # of the state as the phase starts: nothing moves until the loans are made
    assert fig is not None
    required = required_reserves(state, params)
    request = _live(positive_part(required - state.cash), _gone(state, ctx))
    # the offering banks' supply (0 elsewhere: min(0, spare cash) is 0), computed for those banks only
    offering = (ctx.offers != 0).nonzero()[0]  # (a comparison first: numpy's nonzero of floats is slow)
    supply = np.zeros(n)
    supply[offering] = np.where(state.active[offering] & (request[offering] == 0),
                                np.minimum(ctx.offers[offering], np.maximum(state.cash[offering] - required[offering], 0.0)),
                                0.0)
    led = state.ledger
    offered = float(supply.sum())
    state.market_rate = funding.market_rate(float(request.sum()), offered, state.deposit_facility_rate,
                                            state.lending_rate)
    # existing counterparties: the loans outstanding and the recent relationships
    known = None
    if _ledger_within_relationships(state, params, ctx.t):
        # the relationships' pairs, split only for the banks that supply (in key order, distinct)
        known_lender = known_borrower = np.zeros(0, np.int64)
        known = functools.partial(state.relationships.among, ctx.t)
    else:
        known_lender, known_borrower = state.relationships.pairs(ctx.t)
        led.compact()  # the loans outstanding: not the records left at 0 (repaid, called in full)
        known_lender = np.concatenate([led.lender, known_lender])
        known_borrower = np.concatenate([led.borrower, known_borrower])
    # one leverage for the match and the pricing, of the banks that need one: the match ranks
    # the requesting banks by it, and the loans are priced at their borrower's
    asking = (request != 0).nonzero()[0]
    leverage = np.full(n, np.nan)
    leverage[asking] = fig.leverage_at(asking)
    lender, borrower, amount = funding.match(request, supply, known_lender, known_borrower, state.lender_order, leverage,
                                             reach=cfg.network.reach,
                                             dealers=fig.intermediation_capacity_at if cfg.funding.dealers else None,
                                             lender_rank=state.lender_rank, known=known)
    # net of a dealer's two legs: what a requesting bank received, what a supplying bank lent
    borrowed = np.bincount(borrower, weights=amount, minlength=n)
    net = borrowed - np.bincount(lender, weights=amount, minlength=n)
    # at the market rate just set, quoted once per borrowing bank (every amount is positive)
    borrowing = (borrowed > 0).nonzero()[0]
    quotes = np.empty(n)
    quotes[borrowing] = fig.quote_at(borrowing)
    rate = quotes[borrower]
    state.cash += net
    # merged with the loans rolled over this step; the pairs of the loans made or rolled over this step
    dealt = led.deal(lender, borrower, amount, rate, ctx.t + cfg.funding.maturity, n)
    state.relationships.remember_keys(dealt, ctx.t)
    received = positive_part(net)
    state.liquidity_sources["interbank"] += float(received.sum())
    state.funding = {
        "requested": request, "received": received, "unmet": positive_part(request - received),
        # ``np.average(rate, weights=amount)``'s arithmetic without its checks (amounts are positive)
        "rate": float(np.multiply(rate, amount).sum() / amount.sum()) if amount.size else float("nan"),
        "offered": offered, "lent": float(positive_part(-net).sum()),
    }
    if ctx.log.enabled:
        lent = np.bincount(lender, weights=amount, minlength=n)
        top = _largest_counterparty(lender, borrower, amount)
        for i in (ctx.acts == LEND).nonzero()[0].tolist():
            cp = top.get(i)
            ctx.tx[i] = (params.names[cp] if cp is not None else None, None, float(lent[i]))


def _ledger_within_relationships(state: BankState, params: Params, t: int) -> bool:
    """Whether every loan outstanding is between a pair among the relationships alive at step ``t``,
    so that the relationships alone are the set of existing counterparties (the same set ``match``
    would get with the ledger's pairs added; it treats the pairs as a set: repeats change nothing).

    A record is made, or rolled over, at its due step minus the maturity (rolled when it falls due,
    and never left past due), and that pair is remembered at that step; the initial links are
    remembered at step 0 and due within the first maturity. So when no record is past due and the
    relationships last at least a maturity, every record's pair was dealt within the memory."""
    led = state.ledger
    memory, maturity = state.relationships.memory, params.config.funding.maturity
    if memory <= 0 or memory < maturity:
        return False
    if led.due.size == 0 or led.due.min() >= t:  # (a reduction: no mask to build as a rule)
        return True
    past = led.due < t  # past due: none, or only records left at 0 (repaid), which are no loan
    return not past.any() or not (led.amount[past] > 0).any()


# ----------------------------------------------------------------- 6. transactions
@phase(reads=("priorities",), writes=())
def transactions(state: BankState, params: Params, ctx: StepContext) -> None:
    """Emit one ``transaction`` event per bank that traded (after the funding market settled LEND)."""
    if not ctx.log.enabled:
        return
    prio = state.priorities
    for i in sorted(ctx.tx):
        cp, mkt, x = ctx.tx[i]
        ctx.log.emit(ctx.t, "transaction", {
            "bank": params.names[i], "action": ACTIONS[ctx.acts[i]], "counterparty": cp,
            "market": mkt, "amount": float(x), "priority": PRIORITIES[int(prio[i])],
        })


# ----------------------------------------------------------------- 7. liquidity fallback
@phase(reads=("cash", "deposits", "active", "book", "holdings", "price", "cb_loans", "liquidity_sources"),
       writes=("cb_loans", "cash", "cb_lent", "accounts", "holdings", "basis", "log_value", "transient", "price",
               "fire_sales", "book", "book_sales", "income", "liquidity_sources"))
def liquidity_fallback(state: BankState, params: Params, ctx: StepContext) -> None:
    """The pecking order by cost (Shleifer & Vishny 2011): what the market did not cover goes to
    the central bank's facility (the penalty rate for a week costs far less than a fire sale),
    then to fire sales of market positions, then to early sale of the loan book."""
    cfg = params.config
    src = state.liquidity_sources
    gone = _gone(state, ctx)
    ctx.shortfall = _overdrawn(state.cash, gone)
    fig = _start_figures(state, params, ctx)  # the positions stand until the fire sale
    inv = fig.investment_total
    required = required_reserves(state, params)  # (deposits stand through the phase)
    # a) the central bank's lending facility, up to the reserve requirement, against collateral
    if cfg.central_bank.enabled:
        need = np.subtract(required, state.cash)
        need = _live(positive_part(need, out=need), gone)
        # drawn by the banks in need only (elsewhere min(0, capacity) is 0); rounding dust, a need
        # below 1e-9 of initial equity, is not a facility draw: those banks are left out too
        # (the few banks with a need first, then the dust test on those only)
        needy = (need != 0).nonzero()[0]
        needy = needy[~(need[needy] < fig.tolerances.dust[needy])]
        draw = np.zeros(params.n)
        draw[needy] = np.minimum(need[needy], collateral_capacity(state, params, inv, needy))
        if draw[needy].any():  # (draw is 0 elsewhere)
            state.cb_loans += draw
            state.cash += draw
            src["facility"] += cb_events(state, params, ctx.log, "lending_facility", draw)
    # b) obligations still beyond cash: fire sale of market positions
    owe = _overdrawn(state.cash, gone)
    if owe.any():
        proceeds, sold = fire_sell(state, params, owe / (1.0 - cfg.clearing.fire_sale_discount), inv)
        state.cash += proceeds
        impact(state, params, -sold)
        state.fire_sales += float(sold.sum())
        src["fire_sale"] += float(proceeds.sum())
    # c) early sale of the loan book at a discount (to the markets' outside investors)
    owe = _overdrawn(state.cash, gone)
    if owe.any():
        disc = 1.0 - cfg.clearing.book_discount
        sold = np.minimum(owe / disc, state.book)
        paid, face = sold * disc, float(sold.sum())
        received = float(paid.sum())
        state.book -= sold
        state.cash += paid
        state.book_sales += face
        state.income["other"] -= sold * (1.0 - disc)
        state.accounts.investors_cash -= received
        state.accounts.investors_book += face
        src["book_sale"] += received
    # what is still missing: the reserve requirement unmet (and any obligation unpaid: illiquid)
    unmet = np.subtract(required, state.cash, out=required)  # (required's last use)
    src["unmet"] += float(_live(positive_part(unmet, out=unmet), gone).sum())


# ----------------------------------------------------------------- 8. booking
@phase(reads=("holdings", "price", "basis", "active"), writes=("holdings", "cash", "basis", "accounts"))
def booking(state: BankState, params: Params, ctx: StepContext) -> None:
    """Profit booking every ``profit_booking_every`` steps."""
    if ctx.t % params.config.profit_booking_every == 0:
        book_profits(state, params, ctx.log, ctx.t, _gone(state, ctx))


# ----------------------------------------------------------------- 9. defaults
@phase(reads=("cash", "book", "deposits", "cb_loans", "ledger", "holdings", "price", "active"),
       writes=tuple(sorted(defaults_.WRITES)))
def defaults(state: BankState, params: Params, ctx: StepContext) -> None:
    """Illiquid and insolvent banks default; clearing and fire sales cascade until no new default."""
    assert ctx.figures is not None
    ctx.new_defaults, ctx.cascade_depth, ctx.left = defaults_.resolve_defaults(state, params, ctx.log, ctx.figures)


PHASES: tuple[Phase, ...] = (
    actions, markets, interest_and_maturities, deposit_flows, funding_market, transactions,
    liquidity_fallback, booking, defaults,
)
"""The step's phases, in order."""


def run_phases(state: BankState, params: Params, ctx: StepContext, fig: Figures,
               phases: tuple[Phase, ...] = PHASES) -> Figures:
    """Run ``phases`` over the state, in order. ``fig``: the figures of the state before them.
    Each phase starts with the figures its predecessors' declared writes left valid (or those the
    previous phase left in ``ctx.left``). Returns the figures of the state after the last phase."""
    for ph in phases:
        ctx.figures, ctx.left = fig, None
        ph(state, params, ctx)
        if ctx.left is not None:
            fig = ctx.left
        elif ph.writes:  # (a phase that writes nothing leaves every figure valid: the same ones)
            fig = fig.carry(ph.writes)
        if "active" in ph.writes:
            ctx.gone = None
    ctx.figures = ctx.left = None
    return fig

"""The banking system: balance sheets, interbank ledger, funding market, markets,
regulation, central bank, defaults.

Pure numpy, vectorised over banks and loans: a step costs O(banks + loans) (the
funding market adds a sort over the banks) and has no Python loop over banks or
loans except where events are written (the event stream is off in training).
The step itself is the pipeline in ``interbank.sim.phases``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp

from interbank.sim import funding, market, regulation
from interbank.sim.accounts import INCOME, SectorAccounts, net_income, units_outstanding
from interbank.sim.actions import ACTIONS, BORROW, DIVEST, HOLD, INVEST, LEND, N_ACTIONS, PRIORITIES
from interbank.sim.clearing import CLEARING_MODELS
from interbank.sim.columns import column_sums, row_max, row_sums, scale_columns
from interbank.sim.events import EventLog
from interbank.sim.ledger import Ledger
from interbank.sim.network import NETWORKS, fitness_ranks
from interbank.sim.phases import KEEPS, PHASES, StepContext, validate_actions

if TYPE_CHECKING:  # the core never imports pydantic at run time
    from interbank.config import EnvConfig

MOMENTUM_WINDOW = 5
BOOKED: tuple[str, ...] = tuple(line for line in INCOME if line != "market_result")
LIQUIDITY_SOURCES: tuple[str, ...] = ("interbank", "facility", "fire_sale", "book_sale", "unmet")
"""How shortfalls were covered, cheapest first (``BankingSystem.liquidity_sources``, dollars since reset):
requests met by the interbank market, central bank facility draws, fire-sale proceeds, early
book-sale proceeds, and what was still missing."""
FROZEN = ("cash", "book", "loans_out", "borrowings", "deposits", "central_bank")


@dataclass
class StepOutcome:
    """What one step did, per bank (arrays of length n_banks).

    ``executed``: the action carried out (HOLD for a masked action, -1 for banks
    that were already gone); ``invalid``: a masked action was sent;
    ``new_defaults``: indices of banks that defaulted this step;
    ``shortfall``: dollars of obligations a bank could not pay from cash and
    funding (covered by fire sales, the facility, book sales, or not at all).
    """

    executed: np.ndarray
    invalid: np.ndarray
    new_defaults: np.ndarray
    shortfall: np.ndarray
    cascade_depth: int
    done: bool


class BankingSystem:
    """An interbank network of banks with real balance sheets.

    Balance sheet per bank (dollars): assets = cash + loan book to the real
    economy (illiquid: sold early only at ``clearing.book_discount``) + interbank
    loans out + market positions (units x price, one column per configured
    market); liabilities = deposits + interbank borrowings + central bank loans;
    equity = assets - liabilities. Interbank loans live in a double-entry
    :class:`~interbank.sim.ledger.Ledger` (one record per loan, with its rate and
    due step). Deposits pay a rate, the book yields more, cash earns the central
    bank's deposit rate; deposit flows move money between banks each step; a bank
    short of its reserve requirement requests funding that LEND supply meets at
    a risk-priced rate (``interbank.sim.funding``); the central bank lends against
    collateral; regulation (``interbank.sim.regulation``) masks LEND and INVEST
    below the capital minimum; defaults are settled by a clearing model from
    ``CLEARING_MODELS`` and cascade through the ledger and fire sales.

    Units: dollars for money, index points for prices, annual rates in the
    config (per step = annual / ``steps_per_year``).
    """

    def __init__(self, config: "EnvConfig", record_events: bool = True) -> None:
        self.config = config
        self.log = EventLog(record_events)
        self.n = config.n_banks
        self.names = [f"bank_{i}" for i in range(self.n)]
        self.markets: list[str] = list(config.markets.names)
        self.m = len(self.markets)
        self.max_steps = config.max_steps
        self.scheduled: dict[int, list[Any]] = {}
        for shock in config.shocks.scheduled:
            self.scheduled.setdefault(shock.step, []).append(shock)
        self.t = 0
        self.done = False
        self.run_info: dict[str, Any] = {}  # extra, JSON-ready facts for the init event (policy, resolved config)

    # ------------------------------------------------------------------ reset
    def reset(self, seed: int | None = None) -> None:
        cfg = self.config
        seed = cfg.seed if seed is None else seed
        self.seed = seed
        # separate streams: drawing the network and banks must not shift the step noise
        gen_rng, self._step_rng, order_rng = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(3))
        n, m = self.n, self.m
        self.t = 0
        self.done = False
        self.log = EventLog(self.log.enabled)
        self.invalidate()

        if cfg.banks is not None:
            self.capital0 = np.array([b.capital for b in cfg.banks], dtype=np.float64)
            self.target_leverage = np.array([b.target_leverage for b in cfg.banks], dtype=np.float64)
            self.risk = np.array([b.risk for b in cfg.banks], dtype=np.float64)
        else:
            g = cfg.generation
            self.capital0 = g.capital_median * np.exp(g.capital_sigma * gen_rng.standard_normal(n))
            self.target_leverage = gen_rng.uniform(g.leverage_low, g.leverage_high, n)
            self.risk = gen_rng.uniform(g.risk_low, g.risk_high, n)
        # banks by their fitness as new counterparties (largest capital first) when the funding
        # market is tiered (network.reach > 0), else a seeded random order; fixed for the episode
        self.lender_order = (np.argsort(fitness_ranks(self.capital0, n)) if cfg.network.reach > 0
                             else order_rng.permutation(n))

        # central bank parameters the interactive runner may change
        cb = cfg.central_bank
        self.deposit_facility_rate, self.policy_rate, self.lending_rate = cb.deposit_rate, cb.policy_rate, cb.lending_rate
        self.min_capital_ratio = cfg.regulation.min_capital_ratio

        assets0 = self.capital0 * self.target_leverage
        lender, borrower, amount = NETWORKS[cfg.network.type](n, cfg.network, gen_rng, sizes=self.capital0)
        bs = cfg.balance_sheet
        if amount is None:
            outdeg = np.bincount(lender, minlength=n)
            amount = (bs.interbank_share * assets0 / np.maximum(outdeg, 1))[lender]
        self.initial_connections = (lender.copy(), borrower.copy(), np.asarray(amount, dtype=np.float64).copy())

        mk = cfg.markets
        self.price0 = np.full(m, mk.initial_price)
        self.price = self.price0.copy()
        self.log_value = np.log(self.price0)  # the efficient log price (interbank.sim.market)
        self.transient = np.zeros(m)  # the decaying part of past flows' impact (log)
        self.price_before = self.price.copy()
        self._price_hist = np.tile(self.price, (MOMENTUM_WINDOW + 1, 1))
        self.last_return = np.zeros(m)
        self.depth = mk.depth_fraction * float(assets0.sum()) if n else 1.0
        corr = np.full((m, m), mk.correlation) + (1.0 - mk.correlation) * np.eye(m)
        self._chol = np.linalg.cholesky(corr + 1e-12 * np.eye(m))

        invest = bs.market_share * (0.5 + self.risk) * assets0
        self.basis = np.repeat((invest / m)[:, None], m, axis=1)
        self.holdings = self.basis / self.price
        self.ledger = Ledger(lender, borrower, amount, np.zeros(lender.size), np.zeros(lender.size, np.int64))
        # who dealt with whom recently (the funding market's existing counterparties): the initial links
        self.relationships = funding.Relationships(n, cfg.funding.relationship_memory)
        self.relationships.remember(lender, borrower, 0)
        loans_out, borrowings = self.ledger.loans_out(n), self.ledger.borrowings(n)
        self.book = bs.book_share * assets0
        self.deposits = np.maximum(assets0 - self.capital0 - borrowings, 0.0)
        # cash is the plug that makes equity equal the starting capital (a bank that borrows more
        # than its target size holds the proceeds as cash); a negative plug takes the book down
        # first, then is funded by extra deposits
        self.cash = self.capital0 + self.deposits + borrowings - loans_out - invest - self.book
        cut = np.minimum(np.maximum(-self.cash, 0.0), self.book)
        self.book -= cut
        self.cash += cut
        extra = np.maximum(-self.cash, 0.0)
        self.deposits += extra
        self.cash += extra
        self.deposits0 = self.deposits.copy()
        self.cb_loans = np.zeros(n)

        self.active = np.ones(n, dtype=bool)
        self.defaulted = np.zeros(n, dtype=bool)
        self.deleted = np.zeros(n, dtype=bool)
        # balance sheets of gone banks at the moment they left (FROZEN columns, then investments per market)
        self.frozen = np.zeros((n, len(FROZEN) + m))
        self.counterparty_losses = np.zeros(n)
        self.total_defaults = 0
        self.cascades: list[int] = []
        self.external_losses = 0.0
        self.default_causes = {"insolvency": 0, "illiquidity": 0, "contagion": 0}
        self.fire_sales = 0.0
        self.book_sales = 0.0
        self.cb_lent = 0.0
        self.accounts = SectorAccounts(m)
        self.income: dict[str, np.ndarray] = {line: np.zeros(n) for line in INCOME}
        self.liquidity_sources: dict[str, float] = dict.fromkeys(LIQUIDITY_SOURCES, 0.0)
        # the scarcity-priced market rate (interbank.sim.funding): the policy rate until a first round
        self.market_rate = self.policy_rate
        self.funding: dict[str, Any] = {
            "requested": np.zeros(n), "received": np.zeros(n), "unmet": np.zeros(n),
            "rate": float("nan"), "offered": 0.0, "lent": 0.0,
        }
        self.priorities = np.zeros(n, dtype=np.int64)
        self.ledger.rate[:] = self.quote()[self.ledger.borrower]
        # initial loans mature evenly over the first maturity window (the first record last)
        self.ledger.due[:] = cfg.funding.maturity - np.arange(len(self.ledger)) % cfg.funding.maturity
        self.invalidate()
        self.last_outcome: StepOutcome | None = None
        self._emit_init()

    # ------------------------------------------------------------ accounting
    @property
    def lender(self) -> np.ndarray:
        return self.ledger.lender

    @property
    def borrower(self) -> np.ndarray:
        return self.ledger.borrower

    @property
    def amount(self) -> np.ndarray:
        return self.ledger.amount

    def invalidate(self, keep: tuple[str, ...] = ()) -> None:
        """Forget cached per-bank figures (loan sums, ratios, the mask) after the state changed.
        Every phase ends with it; code that changes the ledger and reads again calls it between.
        ``keep``: cache keys still valid (the step keeps the ledger sums after a phase that leaves
        them as they were, see ``phases.KEEPS_LEDGER_SUMS``)."""
        old = getattr(self, "_cache", {})
        self._cache: dict[str, np.ndarray] = {k: old[k] for k in keep if k in old}

    def _cached(self, key: str, compute) -> np.ndarray:
        value = self._cache.get(key)
        if value is None:
            value = self._cache[key] = compute()
        return value

    def loans_out(self) -> np.ndarray:
        return self._cached("loans_out", lambda: self.ledger.loans_out(self.n))

    def borrowings(self) -> np.ndarray:
        return self._cached("borrowings", lambda: self.ledger.borrowings(self.n))

    def investment_values(self) -> np.ndarray:
        return scale_columns(self.holdings, self.price)

    def investment_total(self) -> np.ndarray:
        return self.holdings @ self.price

    def total_assets(self) -> np.ndarray:
        return self.cash + self.book + self.loans_out() + self.investment_total()

    def balance_sheet(self) -> dict[str, np.ndarray]:
        """Every bank's balance sheet as arrays (dollars)."""
        return self._sheet()[0]

    def _sheet(self) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """``balance_sheet()`` and the row sums of its investments (the market positions' total
        in the sheet's own arithmetic, which the mask and the capital ratio reuse)."""
        lo, bo = self.loans_out(), self.borrowings()
        inv = self.investment_values()
        inv_sum = row_sums(inv)
        assets = self.cash + self.book + lo + inv_sum
        liabilities = bo + self.deposits + self.cb_loans
        return {
            "cash": self.cash, "book": self.book, "loans_out": lo, "borrowings": bo, "investments": inv,
            "deposits": self.deposits, "central_bank": self.cb_loans, "assets": assets,
            "liabilities": liabilities, "equity": assets - liabilities,
        }, inv_sum

    def equity(self) -> np.ndarray:
        return self.total_assets() - self.borrowings() - self.deposits - self.cb_loans

    def leverage(self) -> np.ndarray:
        """assets / equity (inf for a bank with no equity)."""
        assets = self.total_assets()
        eq = assets - self.borrowings() - self.deposits - self.cb_loans
        return np.divide(assets, eq, out=np.full(self.n, np.inf), where=eq > 0)

    def required_reserves(self) -> np.ndarray:
        return self.config.regulation.reserve_requirement * self.deposits

    def excess_cash(self) -> np.ndarray:
        return np.maximum(self.cash - self.required_reserves(), 0.0)

    def quote(self, leverage: np.ndarray | None = None) -> np.ndarray:
        """The annual interbank rate each bank would pay on a new loan now: the market rate of the
        last funding round plus its spread, never above the lending facility. ``leverage``: the
        banks' ``leverage()`` when the caller has it already (same state)."""
        f = self.config.funding
        leverage = self.leverage() if leverage is None else leverage
        return funding.quote(leverage, self.market_rate, f.spread_per_leverage, f.max_spread, self.lending_rate)

    def collateral_capacity(self) -> np.ndarray:
        """What the central bank would still lend each bank: collateral after haircuts minus loans drawn."""
        cb = self.config.central_bank
        value = (1.0 - cb.book_haircut) * self.book + (1.0 - cb.market_haircut) * self.investment_total()
        return np.where(self.active, np.maximum(value - self.cb_loans, 0.0), 0.0)

    def capital_ratio(self) -> np.ndarray:
        """equity / risk-weighted assets."""
        def compute() -> np.ndarray:
            bs, inv_sum = self._sheet()
            return regulation.capital_ratio(bs["equity"], self.cash, bs["loans_out"], self.book,
                                            inv_sum, self.config.regulation.risk_weights)
        return self._cached("capital_ratio", compute)

    def liquidity_coverage(self) -> np.ndarray:
        """The liquidity coverage ratio (LCR)."""
        def compute() -> np.ndarray:
            return regulation.liquidity_coverage(self.cash, self.investment_total(), self.deposits, self.borrowings(),
                                                 self.cb_loans, self.loans_out(), self.config.regulation)
        return self._cached("lcr", compute)

    def momentum(self) -> np.ndarray:
        """Return of each market over the last MOMENTUM_WINDOW steps."""
        return self.price / self._price_hist[0] - 1.0

    def connections(self) -> int:
        """Distinct lender -> borrower pairs with a loan outstanding."""
        return int(self.ledger.pairs()[0].size)

    def action_mask(self) -> np.ndarray:
        """bool[n_banks, 5]: which actions each bank may take now (gone banks: HOLD only)."""
        def compute() -> np.ndarray:
            a = self.config.actions
            floor = a.min_trade * self.capital0
            excess = self.excess_cash()
            scale = 0.5 + self.risk
            lend = np.minimum(a.lend_fraction * scale, 1.0) * excess
            invest = np.minimum(a.invest_fraction * scale, 1.0) * excess
            bs, inv_sum = self._sheet()
            live = self.active  # gone banks: HOLD only
            mask = np.empty((self.n, N_ACTIONS), dtype=bool)
            mask[:, LEND] = (lend >= floor) & self._within_minimums(bs, inv_sum, lend, 0.0) & live
            mask[:, BORROW] = (bs["loans_out"] >= floor) & live
            mask[:, INVEST] = (invest >= floor) & self._within_minimums(bs, inv_sum, 0.0, invest) & live
            mask[:, DIVEST] = (row_max(bs["investments"], 0.0) >= floor) & live
            mask[:, HOLD] = True
            return mask
        return self._cached("mask", compute)

    def _within_minimums(self, bs: dict[str, np.ndarray], inv_sum: np.ndarray, lend: np.ndarray | float,
                         invest: np.ndarray | float) -> np.ndarray:
        """Whether each bank would still meet the capital and liquidity minimums right after moving
        ``lend`` dollars of cash into interbank loans and ``invest`` dollars into markets, from its
        balance sheet ``bs`` and investments' row sums ``inv_sum`` (``_sheet()``)."""
        reg = self.config.regulation
        cash = self.cash - lend - invest
        loans = bs["loans_out"] + lend
        inv = inv_sum + invest
        cr = regulation.capital_ratio(bs["equity"], cash, loans, self.book, inv, reg.risk_weights)
        lcr = regulation.liquidity_coverage(cash, inv, self.deposits, bs["borrowings"], self.cb_loans, loans, reg)
        return (cr >= self.min_capital_ratio) & (lcr >= reg.min_lcr)

    def intermediation_capacity(self) -> np.ndarray:
        """Dollars each live bank could carry as a dealer between two banks outside each other's
        reach (borrow and lend the same amount) and still meet both minimums."""
        reg = self.config.regulation
        bs = self.balance_sheet()
        inv = bs["investments"].sum(axis=1)
        rwa = regulation.risk_weighted_assets(self.cash, bs["loans_out"], self.book, inv, reg.risk_weights)
        hqla = regulation.liquid_assets(self.cash, inv, reg)
        out = regulation.outflows(self.deposits, bs["borrowings"], self.cb_loans, reg)
        capacity = regulation.intermediation_capacity(bs["equity"], rwa, hqla, out, self.min_capital_ratio, reg)
        return np.where(self.active, capacity, 0.0)

    # ------------------------------------------------------------- liquidity
    def fire_sell(self, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Sell up to ``target`` dollars (at market value) of each bank's positions,
        pro rata over markets. Returns (cash proceeds after discount, value sold per market).
        The caller moves prices."""
        total = self.investment_total()
        frac = np.clip(np.divide(target, total, out=np.zeros(self.n), where=total > 0), 0.0, 1.0)
        if not frac.any():
            return np.zeros(self.n), np.zeros(self.m)
        sold_units = np.empty_like(self.holdings)
        keep = 1.0 - frac
        for j in range(self.m):  # per market: holdings * frac[:, None] and basis *= keep[:, None], a column at a time
            np.multiply(self.holdings[:, j], frac, out=sold_units[:, j])
            self.basis[:, j] *= keep
        self.holdings -= sold_units
        units = column_sums(sold_units)
        sold = units * self.price
        proceeds = frac * total * (1.0 - self.config.clearing.fire_sale_discount)
        self.accounts.trade(units, proceeds)  # the markets' outside investors buy
        return proceeds, sold

    def impact(self, flow: np.ndarray) -> None:
        """Move prices by a net flow (dollars per market): part permanent, part transient."""
        mk = self.config.markets
        move = market.impact_move(flow, mk.impact, self.depth)
        self.log_value += mk.permanent_impact * move
        self.transient += (1.0 - mk.permanent_impact) * move
        self.reprice()

    def reprice(self) -> None:
        """Set prices from the market state; every holder's revaluation is a market move."""
        before = self.price.copy()
        self.price = market.prices(self.log_value, self.transient, self.config.markets.price_floor * self.price0)
        self.accounts.add("market_moves", float(units_outstanding(self) @ (self.price - before)))

    def cb_events(self, operation: str, amounts: np.ndarray) -> None:
        """Record central bank facility use (one event per bank with a positive amount)."""
        if operation == "lending_facility":
            self.cb_lent += float(amounts.sum())
            self.accounts.central_bank -= float(amounts.sum())
        elif operation == "repayment":
            self.accounts.central_bank += float(amounts.sum())
        if not self.log.enabled:
            return
        for i in np.flatnonzero(amounts > 0).tolist():
            self.log.emit(self.t, "central_bank", {
                "operation": operation, "bank": self.names[i], "amount": float(amounts[i]),
                "rate": self.lending_rate, "value": None,
            })

    # ------------------------------------------------------------------ step
    def step(self, actions: np.ndarray, priorities: np.ndarray | None = None) -> StepOutcome:
        """Advance one step. ``actions``: int[n_banks] (entries of gone banks are ignored);
        ``priorities``: int[n_banks] priority in force per bank (for the events)."""
        if self.done:
            raise RuntimeError("the episode is over; call reset()")
        n = self.n
        self.t += 1
        if priorities is not None:
            self.set_priorities(priorities)
        self.log.emit(self.t, "step_start", {"active_banks": int(self.active.sum())})
        acts, invalid = validate_actions(self, actions)
        ctx = StepContext(self.t, acts, invalid, self._draws(), np.zeros(self.m), np.zeros(n), np.zeros(n, bool), np.zeros(n))
        # the equity the last step ended with, unless something changed since (and invalidated it)
        equity_before = self._cache.get("equity")
        if equity_before is None:
            equity_before = self.equity()
        booked_before = self._cache.get("booked")  # likewise the income booked so far
        if booked_before is None:
            booked_before = self._booked()
        for phase in PHASES:
            phase(self, ctx)
            self.invalidate(KEEPS.get(phase, ()))
        # the market result is what the other lines leave of each open bank's equity change
        equity_after = self._cache.get("equity")  # left by the defaults phase when it ran last
        if equity_after is None:
            equity_after = self.equity()
        booked_after = self._booked()
        self.income["market_result"] += np.where(
            self.active, equity_after - equity_before - (booked_after - booked_before), 0.0)
        self._cache["booked"] = booked_after  # market_result is not a booked line
        self._price_hist = np.roll(self._price_hist, -1, axis=0)
        self._price_hist[-1] = self.price
        self.last_return = self.price / self.price_before - 1.0

        reason = None
        if not self.active.any():
            reason = "all_defaulted"
        elif self.t >= self.max_steps:
            reason = "max_steps"
        if self.log.enabled:
            self._emit_step_end(self.t)
        if reason is not None:
            self.done = True
            self._emit_complete(reason)
        outcome = StepOutcome(acts, invalid, ctx.new_defaults, ctx.shortfall, ctx.cascade_depth, reason is not None)
        self.last_outcome = outcome
        return outcome

    def _booked(self) -> np.ndarray:
        """Net income per bank so far from every line but the market result (dollars)."""
        return net_income(self.income, BOOKED)

    def _draws(self) -> dict[str, np.ndarray]:
        """The step's random numbers, drawn whatever the actions, so two policies on
        the same seed face the same shocks."""
        rng, n = self._step_rng, self.n
        return {
            "u_mkt": rng.random(n), "u_run": rng.random(n), "z_flow": rng.standard_normal(n),
            "z_book": rng.standard_normal(n), "z_mkt": self._chol @ rng.standard_normal(self.m),
            "u_crash": rng.random(self.m),
        }

    def book_profits(self, t: int) -> None:
        """Realise market P&L: gains are sold to cash at the price, losses written into the basis.
        Equity does not change (positions are already marked to market)."""
        value = self.investment_values()
        pos = (self.holdings > 0) & self.active[:, None]
        profit = np.where(pos, value - self.basis, 0.0)
        gain = profit > 0
        sold = np.where(gain, profit / self.price, 0.0)
        self.holdings -= sold
        self.cash += row_sums(np.where(gain, profit, 0.0))
        self.accounts.trade(column_sums(sold), np.where(gain, profit, 0.0))
        if self.log.enabled:
            rows, cols = np.nonzero(pos)
            for i, mm, b, p in zip(rows.tolist(), cols.tolist(), self.basis[rows, cols].tolist(), profit[rows, cols].tolist()):
                self.log.emit(t, "profit_booking", {
                    "bank": self.names[i], "market": self.markets[mm], "invested": b,
                    "return": p / b if b > 0 else 0.0, "profit": p,
                })
        self.basis = np.where(pos, self.holdings * self.price, self.basis)

    # -------------------------------------------------------------- defaults
    def _recovery(self) -> np.ndarray:
        """Fraction of its debts each bank pays, by the configured clearing model."""
        led = self.ledger
        p_bar = self.borrowings() + self.deposits + self.cb_loans
        share = led.amount / np.where(p_bar > 0, p_bar, 1.0)[led.borrower]
        pi_t = sp.csr_matrix((share, (led.lender, led.borrower)), shape=(self.n, self.n))
        external = np.maximum(self.cash + self.book + self.investment_total(), 0.0)
        return CLEARING_MODELS[self.config.clearing.model](pi_t, p_bar, external, self.config.clearing)

    def _close(self, banks: np.ndarray, cause: str) -> tuple[float, float]:
        """Settle and remove ``banks``. Returns (creditor losses, value fire-sold)."""
        n = self.n
        # their balance sheets as they leave (the FROZEN columns of balance_sheet(), for these rows only)
        sheet = (self.cash, self.book, self.loans_out(), self.borrowings(), self.deposits, self.cb_loans)
        for k, column in enumerate(sheet):
            self.frozen[banks, k] = column[banks]
        self.frozen[banks, len(FROZEN):] = self.holdings[banks] * self.price
        # fire sale of the closing banks' positions: the second contagion channel
        target = np.zeros(n)
        target[banks] = np.inf
        proceeds, sold = self.fire_sell(target)
        self.cash += proceeds
        self.impact(-sold)
        self.fire_sales += float(sold.sum())
        rho = self._recovery()
        p_bar = self.borrowings() + self.deposits + self.cb_loans
        closing = np.zeros(n, dtype=bool)
        closing[banks] = True
        led = self.ledger
        owed = closing[led.borrower] & (led.amount > 0)
        recovered = led.amount[owed] * rho[led.borrower[owed]]
        lost = led.amount[owed] - recovered
        losses = float(lost.sum())
        self.counterparty_losses += np.bincount(led.lender[owed], weights=lost, minlength=n)
        self.income["other"] -= np.bincount(led.lender[owed], weights=lost, minlength=n)
        cash_before = self.cash[banks].copy()  # an overdraft (negative cash) is settled below
        got = np.bincount(led.lender[owed], weights=recovered, minlength=n)
        self.cash += got
        self.external_losses += float(((self.deposits[banks] + self.cb_loans[banks]) * (1.0 - rho[banks])).sum())
        led.amount[owed] = 0.0
        # claims of a closed bank on open banks pass to its depositors as part of what they recover
        # (same debt, now a deposit at the borrower); the rest of their recovery is paid in money
        claims = closing[led.lender] & (led.amount > 0)
        passed = np.bincount(led.lender[claims], weights=led.amount[claims], minlength=n)[banks]
        self.deposits += np.bincount(led.borrower[claims], weights=led.amount[claims], minlength=n)
        led.amount[claims] = 0.0
        led.compact()
        # the estate: what the closed banks held (after their fire sale and the recoveries they got),
        # paid out to creditors (rho x claims) and, for a bank that pays in full, its shareholders;
        # what is left is lost in liquidation (bankruptcy costs, Rogers & Veraart's alpha and beta)
        # an illiquid bank's negative cash is payments the payment system (the central bank) settled
        # for it: a claim on the estate after the creditors the clearing paid, before shareholders
        overdraft = np.maximum(-cash_before, 0.0)
        estate = np.maximum(cash_before, 0.0) + got[banks] + self.book[banks] + passed
        paid = rho[banks] * p_bar[banks]
        leftover = np.where(rho[banks] >= 1.0, np.maximum(estate - paid, 0.0), 0.0)
        settled = np.minimum(overdraft, leftover)
        residual = leftover - settled
        acc = self.accounts
        acc.central_bank -= float((overdraft - settled).sum())
        self.external_losses += float((overdraft - settled).sum())
        acc.households += float((rho[banks] * self.deposits[banks] - passed).sum())
        acc.central_bank += float((rho[banks] * self.cb_loans[banks]).sum())
        acc.shareholders += float(residual.sum())
        acc.add("bankruptcy_costs", -float((estate - paid - settled - residual).sum()))
        self.active[banks] = False
        if cause == "deleted":
            self.deleted[banks] = True
        else:
            self.defaulted[banks] = True
        for arr in (self.cash, self.book, self.deposits, self.cb_loans, self.deposits0):
            arr[banks] = 0.0
        self.holdings[banks] = 0.0
        self.basis[banks] = 0.0
        self.invalidate()
        return losses, float(sold.sum())

    def _failing(self, eq: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(insolvent, illiquid) active banks. Illiquid: cash still below zero (an obligation it
        could not pay after funding, fire sales, the facility and book sales). Insolvent: the
        others with equity < 0 (<= 0 with ``clearing.default_at_zero_equity``; zero meaning within
        1e-9 of the bank's initial assets, to absorb rounding)."""
        tol = 1e-9 * self.capital0 * self.target_leverage
        illiquid = self.active & (self.cash < -tol)
        if self.config.clearing.default_at_zero_equity:
            insolvent = self.active & ~illiquid & (eq <= tol)
        else:
            insolvent = self.active & ~illiquid & (eq < -tol)
        return insolvent, illiquid

    def wipe_external_assets(self, banks: np.ndarray, fraction: float = 1.0) -> None:
        """Exogenous shock: ``banks`` lose ``fraction`` of their cash, book and market positions
        (no fire sale: the assets are simply gone). Used by the validation experiments."""
        banks = np.asarray(banks, dtype=np.int64)
        gone = self.cash[banks].sum() + self.book[banks].sum() + (self.holdings[banks] @ self.price).sum()
        self.accounts.add("wiped", -fraction * float(gone))
        self.cash[banks] *= 1.0 - fraction
        self.book[banks] *= 1.0 - fraction
        self.holdings[banks] *= 1.0 - fraction
        self.basis[banks] *= 1.0 - fraction
        self.invalidate()

    def resolve_defaults(self, first_cause: str = "insolvency") -> tuple[np.ndarray, int]:
        """Default every insolvent or illiquid active bank, repeat until no new default.
        Returns (defaulted bank indices, cascade depth)."""
        t = self.t
        eq = self.equity()
        insolvent, illiquid = self._failing(eq)
        new = np.flatnonzero(insolvent | illiquid)
        if new.size == 0:
            self._cache["equity"] = eq  # the state's equity (the step ends with it)
            return new, 0
        trigger = [self.names[i] for i in new.tolist()]
        all_new: list[np.ndarray] = []
        depth, losses, volume = 0, 0.0, 0.0
        while new.size:
            depth += 1
            for i, e in zip(new.tolist(), eq[new].tolist()):
                cause = "illiquidity" if illiquid[i] else (first_cause if depth == 1 else "contagion")
                self.default_causes[cause] = self.default_causes.get(cause, 0) + 1
                self.log.emit(t, "default", {"bank": self.names[i], "equity": e, "cause": cause})
            l_, v_ = self._close(new, "defaulted")
            losses += l_
            volume += v_
            all_new.append(new)
            eq = self.equity()
            insolvent, illiquid = self._failing(eq)
            new = np.flatnonzero(insolvent | illiquid)
        self._cache["equity"] = eq  # the equity after the last closing (the step ends with it)
        out = np.concatenate(all_new)
        self.total_defaults += int(out.size)
        self.cascades.append(int(out.size))
        self.log.emit(t, "cascade", {
            "trigger": trigger, "defaulted": [self.names[i] for i in out.tolist()],
            "depth": depth, "losses": losses, "fire_sale_volume": volume,
        })
        return out, depth

    def set_priorities(self, priorities: np.ndarray) -> None:
        """The priority in force per bank (for events); gone banks keep their last one."""
        p = np.asarray(priorities, dtype=np.int64)
        self.priorities = np.where(self.active, p, self.priorities)

    # --------------------------------------------------- interactive hooks
    def add_capital(self, bank: int, amount: float) -> None:
        """Inject ``amount`` dollars of new equity as cash (paid in by shareholders)."""
        self.cash[bank] += amount
        self.accounts.shareholders -= amount
        self.income["other"][bank] += amount
        self.invalidate()

    def delete_bank(self, bank: int) -> dict[str, float]:
        """Remove an active bank, settling its positions like a default (fire sale of its
        market positions, its creditors paid by the clearing model, its claims passed to
        external creditors). Returns the settlement figures."""
        eq = float(self.equity()[bank])
        losses, volume = self._close(np.array([bank]), "deleted")
        return {"equity": eq, "creditor_losses": losses, "fire_sale_volume": volume}

    def inject_liquidity(self, bank: int, amount: float) -> None:
        """Emergency liquidity: the central bank lends ``amount`` to ``bank`` (cash up, central
        bank loan up, equity unchanged), at the lending rate."""
        self.cb_loans[bank] += amount
        self.cash[bank] += amount
        self.cb_lent += amount
        self.accounts.central_bank -= amount
        self.invalidate()

    def set_policy_rate(self, rate: float) -> tuple[float, float, float]:
        """Move the corridor so the policy rate is ``rate``, keeping its widths (the deposit
        rate stops at 0). Returns (deposit, policy, lending) rates."""
        shift = rate - self.policy_rate
        self.deposit_facility_rate = max(self.deposit_facility_rate + shift, 0.0)
        self.policy_rate = rate
        self.lending_rate = self.lending_rate + shift
        # the market keeps its place in the corridor
        self.market_rate = min(max(self.market_rate + shift, self.deposit_facility_rate), self.lending_rate)
        self.invalidate()
        return self.deposit_facility_rate, self.policy_rate, self.lending_rate

    def set_capital_requirement(self, ratio: float) -> None:
        """Change the minimum capital ratio (equity / RWA) below which LEND and INVEST are masked."""
        self.min_capital_ratio = ratio
        self.invalidate()

    # --------------------------------------------------------------- events
    def snapshots(self, idx: np.ndarray | None = None) -> list[dict[str, Any]]:
        """Balance sheets as event dicts; gone banks show their sheet at the moment they left."""
        bs = self.balance_sheet()
        rows = np.arange(self.n) if idx is None else np.asarray(idx)
        cols = {name: bs[name][rows].copy() for name in FROZEN}
        inv_arr = bs["investments"][rows].copy()
        cr = self.capital_ratio()[rows].copy()
        lcr = self.liquidity_coverage()[rows].copy()
        gone = ~self.active[rows]
        if gone.any():
            f = self.frozen[rows[gone]]
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
        out = []
        for k, i in enumerate(rows.tolist()):
            out.append({
                "id": self.names[i], "cash": lists["cash"][k], "book": lists["book"][k],
                "loans_out": lists["loans_out"][k], "borrowings": lists["borrowings"][k],
                "investments": dict(zip(self.markets, inv[k])), "deposits": lists["deposits"][k],
                "central_bank_loans": lists["central_bank"][k], "equity": eq_l[k],
                "leverage": None if lev_l[k] != lev_l[k] else lev_l[k],
                "capital_ratio": None if cr_l[k] != cr_l[k] else cr_l[k],
                "lcr": None if lcr_l[k] != lcr_l[k] else lcr_l[k],
                "defaulted": bool(self.defaulted[i]), "deleted": bool(self.deleted[i]),
                "priority": PRIORITIES[int(self.priorities[i])],
            })
        return out


    def market_states(self) -> list[dict[str, Any]]:
        return [
            {"name": name, "price": float(p), "initial_price": float(p0), "return": float(p / p0 - 1.0),
             "last_return": float(r)}
            for name, p, p0, r in zip(self.markets, self.price, self.price0, self.last_return)
        ]

    def total_capital(self) -> float:
        return float(self.equity()[self.active].sum())

    def welfare(self) -> float:
        """Social welfare, in initial total equity: the equity of the banks still open minus the
        losses pushed onto depositors, outside creditors and the central bank so far. 1.0 at reset;
        a default's loss to other banks shows in their equity, its loss to outsiders here."""
        return (self.total_capital() - self.external_losses) / float(self.capital0.sum())

    def _emit_init(self) -> None:
        if not self.log.enabled:
            return
        cfg = self.config
        lender, borrower, amount = self.initial_connections
        self.log.emit(0, "init", {
            "banks": [
                {"id": name, "capital": c, "target_leverage": lv, "risk": r}
                for name, c, lv, r in zip(self.names, self.capital0.tolist(), self.target_leverage.tolist(), self.risk.tolist())
            ],
            "markets": self.market_states(),
            "connections": [
                {"lender": self.names[i], "borrower": self.names[j], "amount": x}
                for i, j, x in zip(lender.tolist(), borrower.tolist(), amount.tolist())
            ],
            "config": {
                "n_banks": self.n, "max_steps": self.max_steps, "seed": self.seed,
                "network": cfg.network.type, "avg_degree": cfg.network.avg_degree,
                "clearing": cfg.clearing.model, "policy_rate": self.policy_rate,
                "central_bank": cfg.central_bank.enabled,
                "profit_booking_every": cfg.profit_booking_every, "actions": list(ACTIONS),
                "markets": list(self.markets), "digest": cfg.digest(), **self.run_info,
            },
        })

    def _emit_step_end(self, t: int) -> None:
        banks = self.snapshots()
        total = self.total_capital()
        live = self.active
        f = self.funding
        rate = f["rate"]
        self.log.emit(t, "step_end", {
            "step": t, "active_banks": int(live.sum()), "defaults": int(self.defaulted.sum()),
            "total_capital": total, "banks": banks, "markets": self.market_states(),
            "totals": {
                "cash": float(self.cash[live].sum()),
                "book": float(self.book[live].sum()),
                "interbank_loans": float(self.ledger.amount.sum()),
                "investments": float(self.investment_values()[live].sum()),
                "deposits": float(self.deposits[live].sum()),
                "central_bank_loans": float(self.cb_loans[live].sum()),
                "funding_requested": float(f["requested"].sum()),
                "funding_matched": float(f["received"].sum()),
                "funding_unmet": float(f["unmet"].sum()),
                "interbank_rate": None if rate != rate else rate,
                "connections": self.connections(),
                "policy_rate": self.policy_rate,
                "market_rate": self.market_rate,
                "deposit_facility_rate": self.deposit_facility_rate,
                "lending_facility_rate": self.lending_rate,
                "min_capital_ratio": self.min_capital_ratio,
            },
        })

    def _emit_complete(self, reason: str) -> None:
        self.log.emit(self.t, "complete", {"reason": reason, "summary": self.summary()})

    def summary(self) -> dict[str, Any]:
        return {
            "steps": self.t, "active_banks": int(self.active.sum()), "defaults": int(self.defaulted.sum()),
            "deleted": int(self.deleted.sum()), "cascades": len(self.cascades),
            "max_cascade": max(self.cascades, default=0), "total_capital": self.total_capital(),
            "initial_capital": float(self.capital0.sum()), "external_losses": self.external_losses,
            "fire_sales": self.fire_sales, "book_sales": self.book_sales, "central_bank_lent": self.cb_lent,
            "default_causes": dict(self.default_causes),
        }

    def stop(self, reason: str = "stopped") -> None:
        """End the episode early (interactive runner)."""
        if not self.done:
            self.done = True
            self._emit_complete(reason)

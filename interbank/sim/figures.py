"""Figures derived from a ``BankState``: loan sums, balance sheets, equity, ratios, quotes, the action mask.

Every figure is a function of the state (and the parameters) as it is when called; none is
stored in the state. Where several figures of one moment are needed, a :class:`Figures` computes
each on first use and shares it (the loan sums under equity, the balance sheet under the ratios
and the mask). A ``Figures`` belongs to the state as it was when it was made: code that writes
the state makes a new one. The step hands them along explicitly (``phases.run_phases``): a phase
gets the figures of the state it starts from, keeping those whose inputs the phases before it
did not write (their declared ``writes``).

Each function keeps the arithmetic of the figure it names, operation for operation: equity
computed from ``total_assets`` and equity from the balance sheet (``sheet``) differ in the last
bits, so each caller uses the one it always used. Dollars unless stated.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from interbank.sim import funding, regulation
from interbank.sim.accounts import INCOME, net_income
from interbank.sim.actions import BORROW, DIVEST, HOLD, INVEST, LEND, N_ACTIONS
from interbank.sim.columns import positive_part, row_max, row_sums, scale_columns
from interbank.sim.state import HAIRCUT_SCALES, BankState, Params

BOOKED: tuple[str, ...] = tuple(line for line in INCOME if line != "market_result")
"""The income lines booked by the phases (every line but ``market_result``, which the step
derives from the equity change)."""

Sheet = dict[str, np.ndarray]
"""A balance sheet of every bank (float[n] dollars per column; ``investments`` float[n, m]):
``cash``, ``book``, ``loans_out``, ``borrowings``, ``investments``, ``deposits``,
``central_bank``, ``assets``, ``liabilities``, ``equity``. The state's own columns are the
state's arrays, not copies."""


# ------------------------------------------------------------------ plain figures
def loans_out(state: BankState, params: Params) -> np.ndarray:
    """float[n]: interbank loans out per bank (the ledger's amounts summed by lender)."""
    return state.ledger.loans_out(params.n)


def borrowings(state: BankState, params: Params) -> np.ndarray:
    """float[n]: interbank borrowings per bank (the ledger's amounts summed by borrower)."""
    return state.ledger.borrowings(params.n)


def investment_values(state: BankState) -> np.ndarray:
    """float[n, m]: each position marked to market (units x price)."""
    return scale_columns(state.holdings, state.price)


def investment_total(state: BankState) -> np.ndarray:
    """float[n]: each bank's market positions in total (holdings @ price)."""
    return state.holdings @ state.price


def total_assets(state: BankState, lo: np.ndarray, inv: np.ndarray | None = None) -> np.ndarray:
    """float[n]: cash + book + loans out ``lo`` + market positions (``inv``: their total when the
    caller has it, ``investment_total``)."""
    return state.cash + state.book + lo + (investment_total(state) if inv is None else inv)


def equity(state: BankState, lo: np.ndarray, bo: np.ndarray) -> np.ndarray:
    """float[n]: total assets - borrowings ``bo`` - deposits - central bank loans."""
    return total_assets(state, lo) - bo - state.deposits - state.cb_loans


def leverage(state: BankState, lo: np.ndarray, bo: np.ndarray) -> np.ndarray:
    """float[n]: assets / equity (inf for a bank with no equity)."""
    assets = total_assets(state, lo)
    return leverage_of(assets, assets - bo - state.deposits - state.cb_loans)


def leverage_of(assets: np.ndarray, eq: np.ndarray) -> np.ndarray:
    """float[n]: ``assets`` / equity ``eq`` (inf where ``eq`` <= 0)."""
    return regulation.ratio(assets, eq, np.inf)


def leverage_at(state: BankState, lo: np.ndarray, bo: np.ndarray, inv: np.ndarray, banks: np.ndarray) -> np.ndarray:
    """``leverage(state, lo, bo)[banks]`` (``inv``: ``investment_total``), computed for those banks
    only, with the same arithmetic element for element."""
    assets = state.cash[banks] + state.book[banks] + lo[banks] + inv[banks]
    return leverage_of(assets, assets - bo[banks] - state.deposits[banks] - state.cb_loans[banks])


def sheet(state: BankState, lo: np.ndarray, bo: np.ndarray) -> tuple[Sheet, np.ndarray]:
    """Every bank's balance sheet and the row sums of its investments (the market positions'
    total in the sheet's own arithmetic, which the mask and the capital ratio reuse)."""
    inv = investment_values(state)
    inv_sum = row_sums(inv)
    assets = state.cash + state.book + lo + inv_sum
    liabilities = bo + state.deposits + state.cb_loans
    return {
        "cash": state.cash, "book": state.book, "loans_out": lo, "borrowings": bo, "investments": inv,
        "deposits": state.deposits, "central_bank": state.cb_loans, "assets": assets,
        "liabilities": liabilities, "equity": assets - liabilities,
    }, inv_sum


def required_reserves(state: BankState, params: Params) -> np.ndarray:
    """float[n]: the reserve requirement (a fraction of deposits) in dollars."""
    return params.config.regulation.reserve_requirement * state.deposits


def excess_cash(state: BankState, params: Params) -> np.ndarray:
    """float[n]: cash above the reserve requirement (0 below it)."""
    return positive_part(state.cash - required_reserves(state, params))


class TradeTerms(NamedTuple):
    """Each bank's terms of trade: figures of the parameters and of fields fixed at reset (risk
    appetite, initial equity), the same at every moment of an episode (``Figures.trade_terms``)."""

    shares: np.ndarray
    """float[2, n]: the shares of its excess cash a bank offers on LEND (row 0: ``lend_fraction`` x
    (0.5 + risk), at most 1) and puts into a market on INVEST (row 1: ``invest_fraction``, the same way)."""
    min_trade: np.ndarray
    """float[n], dollars: the smallest trade the mask allows: ``min_trade`` x initial equity."""


def trade_terms(state: BankState, params: Params) -> TradeTerms:
    """Every bank's ``TradeTerms``."""
    a = params.config.actions
    scale = 0.5 + state.risk
    shares = np.empty((2, scale.size))
    np.minimum(a.lend_fraction * scale, 1.0, out=shares[0])
    np.minimum(a.invest_fraction * scale, 1.0, out=shares[1])
    return TradeTerms(shares, a.min_trade * state.capital0)


class Tolerances(NamedTuple):
    """Each bank's rounding tolerances: figures of fields fixed at reset (initial equity and
    leverage), the same at every moment of an episode (``Figures.tolerances``)."""

    dust: np.ndarray
    """float[n], dollars: 1e-9 of initial equity: a reserve need below it is rounding (no facility draw)."""
    zero: np.ndarray
    """float[n], dollars: 1e-9 of initial assets (equity x leverage): cash or equity within it of 0 is 0."""
    minus_zero: np.ndarray
    """float[n], dollars: ``-zero``."""


def tolerances(state: BankState, params: Params) -> Tolerances:
    """Every bank's ``Tolerances``."""
    zero = 1e-9 * state.capital0 * state.target_leverage
    return Tolerances(1e-9 * state.capital0, zero, -zero)


def fixed_costs(state: BankState, params: Params) -> np.ndarray:
    """float[n], dollars per step: each bank's fixed operating cost, ``rates.fixed_cost`` (annual)
    of its initial assets (initial equity x target leverage): a figure of fields fixed at reset, the
    same at every step of an episode (``Figures.fixed_costs``)."""
    cfg = params.config
    return cfg.per_step(cfg.rates.fixed_cost) * state.capital0 * state.target_leverage


def trade_sizes(state: BankState, params: Params, terms: TradeTerms | None = None) -> np.ndarray:
    """float[2, n]: the dollars each bank would offer on LEND (row 0) and put into a market on
    INVEST (row 1) now: its shares (``terms``: ``trade_terms``) of its excess cash. The mask tests
    them and the actions phase trades them (``Figures.trade_sizes``)."""
    terms = trade_terms(state, params) if terms is None else terms
    return terms.shares * excess_cash(state, params)


def quote(state: BankState, params: Params, lev: np.ndarray | None = None) -> np.ndarray:
    """float[n], annual: the interbank rate each bank would pay on a new loan now: the market rate
    of the last funding round plus its spread, never above the lending facility. ``lev``: the
    banks' leverage when the caller has it already (same state)."""
    f = params.config.funding
    if lev is None:
        lev = leverage(state, loans_out(state, params), borrowings(state, params))
    return funding.quote(lev, state.market_rate, f.spread_per_leverage, f.max_spread, state.lending_rate)


def collateral_capacity(state: BankState, params: Params, inv: np.ndarray | None = None,
                        banks: np.ndarray | None = None) -> np.ndarray:
    """float[n]: what the central bank would still lend each bank: collateral after haircuts
    minus loans drawn (0 for gone banks). ``inv``: ``investment_total`` when the caller has it;
    ``banks``: only those banks' entries (float[k], the same arithmetic element for element)."""
    cb = params.config.central_bank
    inv = investment_total(state) if inv is None else inv
    scale = HAIRCUT_SCALES[state.haircuts]  # 1.0 unless the central bank agent moved them (x * 1.0 is x)
    book_cut, market_cut = min(cb.book_haircut * scale, 1.0), min(cb.market_haircut * scale, 1.0)
    book, loans, active = state.book, state.cb_loans, state.active
    if banks is not None:
        book, loans, active, inv = book[banks], loans[banks], active[banks], inv[banks]
    value = (1.0 - book_cut) * book + (1.0 - market_cut) * inv
    return np.where(active, np.maximum(value - loans, 0.0), 0.0)


def momentum(state: BankState) -> np.ndarray:
    """float[m], ratio: each market's return over the last ``MOMENTUM_WINDOW`` steps."""
    return state.price / state.price_hist[0] - 1.0


def connections(state: BankState) -> int:
    """Distinct lender -> borrower pairs with a loan outstanding."""
    return int(state.ledger.pairs()[0].size)


def booked(state: BankState) -> np.ndarray:
    """float[n]: net income so far from every line but the market result."""
    return net_income(state.income, BOOKED)


class _Minimums:
    """Whether each bank would still meet the capital and liquidity minimums right after a move of
    cash into interbank loans or into markets, from its balance sheet: the terms no move changes
    (the book's risk weight, the LCR's outflows and their inflow cap) computed once, each ratio
    with ``regulation``'s arithmetic operation for operation."""

    def __init__(self, state: BankState, params: Params, bs: Sheet, inv_sum: np.ndarray) -> None:
        self.state, self.bs, self.inv_sum = state, bs, inv_sum
        self.reg = reg = params.config.regulation
        self.book_weighted = reg.risk_weights.book * state.book
        self.outflow = regulation.outflows(state.deposits, bs["borrowings"], state.cb_loans, reg)
        self.inflow_cap = reg.lcr_inflow_cap * self.outflow

    def after_each(self, sizes: np.ndarray) -> np.ndarray:
        """bool[2, n]: ``after(sizes[0], 0.0)`` (lending) and ``after(0.0, sizes[1])`` (investing),
        computed together on the two moves stacked: each array operation runs once over 2n entries
        instead of twice over n (the same operations element for element, so the same booleans)."""
        reg, w = self.reg, self.reg.risk_weights
        lo, inv_sum = self.bs["loans_out"], self.inv_sum
        loans = np.empty(sizes.shape)
        np.add(lo, sizes[0], out=loans[0])
        loans[1] = lo
        inv = np.empty(sizes.shape)
        inv[0] = inv_sum
        np.add(inv_sum, sizes[1], out=inv[1])
        positive_cash = self.state.cash - sizes
        positive_part(positive_cash, out=positive_cash)
        rwa = w.cash * positive_cash
        rwa += w.interbank * loans
        rwa += self.book_weighted
        rwa += w.markets * inv
        ok = regulation.at_least(self.bs["equity"], rwa, regulation.CAP, self.state.min_capital_ratio)
        hqla = (1.0 - reg.lcr_market_haircut) * inv
        np.add(positive_cash, hqla, out=hqla)
        net = np.minimum(loans, self.inflow_cap)
        np.subtract(self.outflow, net, out=net)
        ok &= regulation.at_least(hqla, net, regulation.CAP, reg.min_lcr)
        return ok


def action_mask(state: BankState, params: Params, bs: Sheet, inv_sum: np.ndarray, terms: TradeTerms | None = None,
                sizes: np.ndarray | None = None) -> np.ndarray:
    """bool[n, 5]: which actions each bank may take now (gone banks: HOLD only), from the sheet.
    ``terms`` and ``sizes``: ``trade_terms`` and ``trade_sizes`` when the caller has them."""
    terms = trade_terms(state, params) if terms is None else terms
    floor = terms.min_trade
    sizes = trade_sizes(state, params, terms) if sizes is None else sizes
    live = state.active  # gone banks: HOLD only
    # LEND (row 0) and INVEST (row 1): a trade of at least the floor that keeps both minimums
    trade = _Minimums(state, params, bs, inv_sum).after_each(sizes)
    trade &= sizes >= floor
    trade &= live
    mask = np.empty((params.n, N_ACTIONS), dtype=bool)
    mask[:, LEND] = trade[0]
    mask[:, BORROW] = (bs["loans_out"] >= floor) & live
    mask[:, INVEST] = trade[1]
    mask[:, DIVEST] = (row_max(bs["investments"], 0.0) >= floor) & live
    mask[:, HOLD] = True
    return mask


def intermediation_capacity(state: BankState, params: Params, bs: Sheet, inv_sum: np.ndarray | None = None) -> np.ndarray:
    """float[n]: dollars each live bank could carry as a dealer between two banks outside each
    other's reach (borrow and lend the same amount) and still meet both minimums. ``inv_sum``:
    the row sums of ``bs["investments"]`` when the caller has them (``sheet``)."""
    reg = params.config.regulation
    inv = row_sums(bs["investments"]) if inv_sum is None else inv_sum
    rwa = regulation.risk_weighted_assets(state.cash, bs["loans_out"], state.book, inv, reg.risk_weights)
    hqla = regulation.liquid_assets(state.cash, inv, reg)
    out = regulation.outflows(state.deposits, bs["borrowings"], state.cb_loans, reg)
    capacity = regulation.intermediation_capacity(bs["equity"], rwa, hqla, out, state.min_capital_ratio, reg)
    return np.where(state.active, capacity, 0.0)


def intermediation_capacity_at(state: BankState, params: Params, lo: np.ndarray, bo: np.ndarray,
                               banks: np.ndarray) -> np.ndarray:
    """float[k]: ``intermediation_capacity`` of the banks ``banks`` only (loans out ``lo`` and
    borrowings ``bo`` of every bank), with the sheet's arithmetic element for element."""
    reg = params.config.regulation
    cash, book, dep, cb = state.cash[banks], state.book[banks], state.deposits[banks], state.cb_loans[banks]
    lo, bo = lo[banks], bo[banks]
    inv = row_sums(scale_columns(state.holdings[banks], state.price))
    equity = (cash + book + lo + inv) - (bo + dep + cb)
    rwa = regulation.risk_weighted_assets(cash, lo, book, inv, reg.risk_weights)
    hqla = regulation.liquid_assets(cash, inv, reg)
    out = regulation.outflows(dep, bo, cb, reg)
    capacity = regulation.intermediation_capacity(equity, rwa, hqla, out, state.min_capital_ratio, reg)
    return np.where(state.active[banks], capacity, 0.0)


# ------------------------------------------------------------------ one moment's figures
BALANCE_SHEET: frozenset[str] = frozenset({"cash", "book", "ledger", "holdings", "price", "deposits", "cb_loans"})
"""The state's fields every balance-sheet figure depends on."""
INPUTS: dict[str, frozenset[str]] = {
    "_lo": frozenset({"ledger"}), "_bo": frozenset({"ledger"}), "_investment_total": frozenset({"holdings", "price"}),
    "_sheet": BALANCE_SHEET, "_total_assets": BALANCE_SHEET, "_equity": BALANCE_SHEET, "_leverage": BALANCE_SHEET,
    "_cr": BALANCE_SHEET, "_lcr": BALANCE_SHEET,
    "_mask": BALANCE_SHEET | {"active", "min_capital_ratio"}, "_trade_sizes": frozenset({"cash", "deposits"}),
    "_trade_terms": frozenset(), "_tolerances": frozenset(), "_fixed_costs": frozenset(),
    "_booked": frozenset({"income"}),
}
"""What each figure a ``Figures`` keeps is computed from (state fields; the parameters and the
fields fixed at reset are left out): ``carry`` drops a figure when one of them was written."""
_KEPT: dict[frozenset[str], tuple[str, ...]] = {}  # writes -> the figures they leave valid (INPUTS, worked out once)

class Figures:
    """The figures of one state at one moment, each computed on first use and then shared.

    Valid while the state is as it was when the ``Figures`` was made: whoever writes the state
    makes a new one. ``loans_out``, ``borrowings``, ``equity`` and ``booked`` may be given when
    the maker has them already (of the same state), and ``carry`` keeps those whose inputs the
    code since did not write. Arrays returned are shared by every reader: do not write them.

    The figures of the parameters and of the fields fixed at reset (``trade_terms``, ``tolerances``,
    ``fixed_costs``: from ``capital0``, ``target_leverage``, ``risk`` and the config) are carried
    whatever is written, so they are worked out once an episode: the config and those fields must
    not change within an episode (nothing in the package changes them; a change takes effect at the
    next ``reset``).
    """

    __slots__ = ("state", "params", "_lo", "_bo", "_investment_total", "_sheet", "_total_assets", "_equity", "_leverage", "_cr", "_lcr", "_mask",
                 "_trade_sizes", "_trade_terms", "_tolerances", "_fixed_costs", "_booked")

    def __init__(self, state: BankState, params: Params, *, loans_out: np.ndarray | None = None,
                 borrowings: np.ndarray | None = None, equity: np.ndarray | None = None,
                 booked: np.ndarray | None = None) -> None:
        self.state, self.params = state, params
        self._lo, self._bo, self._equity, self._booked = loans_out, borrowings, equity, booked
        self._sheet: tuple[Sheet, np.ndarray] | None = None
        self._total_assets: np.ndarray | None = None
        self._investment_total: np.ndarray | None = None
        self._leverage = self._cr = self._lcr = self._mask = None
        self._trade_sizes = self._trade_terms = self._tolerances = self._fixed_costs = None

    def carry(self, writes: frozenset[str] | tuple[str, ...], **known: np.ndarray) -> "Figures":
        """The figures of the state after code that wrote only the state's fields ``writes``: a new
        ``Figures`` keeping every figure computed here whose inputs (``INPUTS``) are not among
        them, plus the ``known`` ones (``booked=...``: computed by the caller, of the new state)."""
        new = Figures(self.state, self.params)
        written = frozenset(writes)
        kept = _KEPT.get(written)
        if kept is None:
            kept = _KEPT[written] = tuple(slot for slot, inputs in INPUTS.items() if not (inputs & written))
        for slot in kept:
            setattr(new, slot, getattr(self, slot))
        for name, value in known.items():
            setattr(new, "_" + name, value)
        return new

    @property
    def loans_out(self) -> np.ndarray:
        if self._lo is None:
            self._lo = loans_out(self.state, self.params)
        return self._lo

    @property
    def borrowings(self) -> np.ndarray:
        if self._bo is None:
            self._bo = borrowings(self.state, self.params)
        return self._bo

    @property
    def sheet(self) -> tuple[Sheet, np.ndarray]:
        """(``sheet``, the row sums of its investments)."""
        if self._sheet is None:
            self._sheet = sheet(self.state, self.loans_out, self.borrowings)
        return self._sheet

    @property
    def investment_total(self) -> np.ndarray:
        """float[n]: ``figures.investment_total`` (kept while holdings and prices stand)."""
        if self._investment_total is None:
            self._investment_total = investment_total(self.state)
        return self._investment_total

    @property
    def total_assets(self) -> np.ndarray:
        """float[n]: ``figures.total_assets`` (under ``equity`` and ``leverage``)."""
        if self._total_assets is None:
            self._total_assets = total_assets(self.state, self.loans_out, self.investment_total)
        return self._total_assets

    @property
    def equity(self) -> np.ndarray:
        """float[n]: total assets - liabilities (``figures.equity``'s arithmetic, not the sheet's)."""
        if self._equity is None:
            s = self.state
            self._equity = self.total_assets - self.borrowings - s.deposits - s.cb_loans
        return self._equity

    @property
    def leverage(self) -> np.ndarray:
        """float[n]: ``figures.leverage`` (its equity is ``equity``'s, operation for operation)."""
        if self._leverage is None:
            self._leverage = leverage_of(self.total_assets, self.equity)
        return self._leverage

    @property
    def capital_ratio(self) -> np.ndarray:
        """float[n]: equity / risk-weighted assets."""
        if self._cr is None:
            bs, inv_sum = self.sheet
            self._cr = regulation.capital_ratio(bs["equity"], self.state.cash, bs["loans_out"], self.state.book,
                                                inv_sum, self.params.config.regulation.risk_weights)
        return self._cr

    @property
    def liquidity_coverage(self) -> np.ndarray:
        """float[n]: the liquidity coverage ratio (LCR)."""
        if self._lcr is None:
            s = self.state
            self._lcr = regulation.liquidity_coverage(s.cash, self.investment_total, s.deposits, self.borrowings,
                                                      s.cb_loans, self.loans_out, self.params.config.regulation)
        return self._lcr

    @property
    def action_mask(self) -> np.ndarray:
        """bool[n, 5]: ``figures.action_mask``."""
        if self._mask is None:
            self._mask = action_mask(self.state, self.params, *self.sheet, self.trade_terms, self.trade_sizes)
        return self._mask

    @property
    def trade_terms(self) -> TradeTerms:
        """``figures.trade_terms``: of the fields fixed at reset, kept whatever is written (``carry``)."""
        if self._trade_terms is None:
            self._trade_terms = trade_terms(self.state, self.params)
        return self._trade_terms

    @property
    def tolerances(self) -> Tolerances:
        """``figures.tolerances``: of the fields fixed at reset, kept whatever is written (``carry``)."""
        if self._tolerances is None:
            self._tolerances = tolerances(self.state, self.params)
        return self._tolerances

    @property
    def fixed_costs(self) -> np.ndarray:
        """``figures.fixed_costs``: of the fields fixed at reset, kept whatever is written (``carry``)."""
        if self._fixed_costs is None:
            self._fixed_costs = fixed_costs(self.state, self.params)
        return self._fixed_costs

    @property
    def trade_sizes(self) -> np.ndarray:
        """float[2, n], lend and invest: ``figures.trade_sizes`` (the mask's, shared with the actions phase)."""
        if self._trade_sizes is None:
            self._trade_sizes = trade_sizes(self.state, self.params, self.trade_terms)
        return self._trade_sizes

    @property
    def booked(self) -> np.ndarray:
        """float[n]: ``figures.booked``."""
        if self._booked is None:
            self._booked = booked(self.state)
        return self._booked

    def quote(self) -> np.ndarray:
        return quote(self.state, self.params, self.leverage)

    def leverage_at(self, banks: np.ndarray) -> np.ndarray:
        """``leverage[banks]``, computed for those banks only (or taken from ``leverage`` if known)."""
        if self._leverage is not None:
            return self._leverage[banks]
        return leverage_at(self.state, self.loans_out, self.borrowings, self.investment_total, banks)

    def quote_at(self, banks: np.ndarray) -> np.ndarray:
        """``quote()[banks]``, computed for those banks only."""
        return quote(self.state, self.params, self.leverage_at(banks))

    def intermediation_capacity(self) -> np.ndarray:
        return intermediation_capacity(self.state, self.params, *self.sheet)

    def intermediation_capacity_at(self, banks: np.ndarray) -> np.ndarray:
        """``intermediation_capacity()[banks]``, computed for those banks only."""
        return intermediation_capacity_at(self.state, self.params, self.loans_out, self.borrowings, banks)


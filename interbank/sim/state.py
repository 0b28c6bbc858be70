"""The core's state, explicit: every array and figure the step reads or writes, in one dataclass.

``BankState`` holds the balance sheets, the interbank ledger, the markets, the central bank's
corridor and the books of one economy; ``Params`` holds what the configuration fixes for every
episode. The step is a pipeline of functions ``phase(state, params, ctx)`` over them
(``interbank.sim.phases``); figures derived from the state (loan sums, equity, ratios, the
action mask) are computed from it where needed (``interbank.sim.figures``), never stored in it.
``initial_state`` draws the economy of one episode.

Units: dollars for money, units of a market for positions, index points for prices, annual
rates (per step = annual / ``steps_per_year``), steps for time. ``n``: banks, ``m``: markets.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from interbank.sim import funding
from interbank.sim.accounts import INCOME, SectorAccounts
from interbank.sim.ledger import Ledger
from interbank.sim.network import NETWORKS, fitness_ranks

if TYPE_CHECKING:  # the core never imports pydantic at run time
    from interbank.config import EnvConfig

MOMENTUM_WINDOW = 5
"""Steps over which a market's momentum is measured (``figures.momentum``)."""
LIQUIDITY_SOURCES: tuple[str, ...] = ("interbank", "facility", "fire_sale", "book_sale", "unmet")
"""How shortfalls were covered, cheapest first (``BankState.liquidity_sources``, dollars since reset):
requests met by the interbank market, central bank facility draws, fire-sale proceeds, early
book-sale proceeds, and what was still missing."""
FROZEN: tuple[str, ...] = ("cash", "book", "loans_out", "borrowings", "deposits", "central_bank")
"""The balance-sheet columns kept for a bank at the moment it leaves (``BankState.frozen``)."""
HAIRCUT_SCALES: dict[str, float] = {"tight": 1.5, "normal": 1.0, "wide": 0.5}
"""The lending facility's collateral settings (``BankState.haircuts``): each multiplies the
configured ``book_haircut`` and ``market_haircut`` (capped at 1). Tight lends less against the
same collateral, wide more."""


@dataclass(frozen=True)
class Params:
    """What the configuration fixes for every episode of one economy.

    ``config``: the validated ``EnvConfig`` (rates, regulation, markets, funding, clearing, ...);
    ``n``: banks; ``m``: markets; ``names``: agent names ``bank_0 ... bank_{n-1}``; ``markets``:
    market names; ``scheduled``: step -> the configured shocks of that step."""

    config: "EnvConfig"
    n: int
    m: int
    names: tuple[str, ...]
    markets: tuple[str, ...]
    scheduled: dict[int, list[Any]]

    @classmethod
    def of(cls, config: "EnvConfig") -> "Params":
        scheduled: dict[int, list[Any]] = {}
        for shock in config.shocks.scheduled:
            scheduled.setdefault(shock.step, []).append(shock)
        n = config.n_banks
        markets = tuple(config.markets.names)
        return cls(config, n, len(markets), tuple(f"bank_{i}" for i in range(n)), markets, scheduled)


@dataclass(eq=False)
class BankState:
    """Everything that changes, or is drawn, in one episode of the economy.

    Drawn at reset and fixed for the episode:

    - ``seed``: the episode's seed; ``rng``: the step's random stream (advanced once per step).
    - ``capital0`` float[n], dollars: each bank's initial equity; ``target_leverage`` float[n],
      assets / equity at reset; ``risk`` float[n] in [0, 1], the bank's risk appetite.
    - ``lender_order`` int[n]: banks in the order the funding market tries new counterparties;
      ``lender_rank`` int[n]: each bank's place in it (1 first).
    - ``initial_connections``: (lender int[k], borrower int[k], amount float[k] dollars), the
      network drawn at reset (for the ``init`` event).
    - ``price0`` float[m], index points: initial prices; ``depth`` dollars: the markets' depth
      (a flow of ``depth`` moves the log price by ``markets.impact``); ``chol`` float[m, m]: the
      Cholesky factor of the markets' correlation.

    Balance sheets (float[n] dollars unless stated; assets = cash + book + loans out +
    market positions; liabilities = deposits + borrowings + central bank loans):

    - ``cash``; ``book`` (loans to the real economy, illiquid); ``deposits``; ``deposits0`` (the
      level deposits revert to; 0 for gone banks); ``cb_loans`` (central bank loans);
      ``cb_term`` (the part of ``cb_loans`` lent by the central bank agent's ``lend_systemic``
      that cannot be repaid before its next decision; zeros unless the agent lends).
    - ``holdings`` float[n, m], units of each market; ``basis`` float[n, m], dollars: the cost
      of the positions since their last profit booking.
    - ``ledger``: the interbank loans (one record per loan: lender, borrower, amount in dollars,
      annual rate, due step); loans out and borrowings are its sums per bank.
    - ``relationships``: the pairs that dealt within the funding market's memory (steps).

    Status: ``active``, ``defaulted``, ``deleted`` bool[n]; ``frozen`` float[n, 6 + m], dollars:
    the ``FROZEN`` columns then the positions per market of each gone bank when it left;
    ``priorities`` int[n]: the priority in force (index into ``PRIORITIES``; gone banks keep
    their last one).

    Markets (float[m]): ``price`` (index points), ``log_value`` (the efficient log price),
    ``transient`` (log: the decaying part of past flows' impact), ``price_before`` (the price at
    the start of the step's market move), ``price_hist`` float[MOMENTUM_WINDOW + 1, m] (prices at
    the end of the last steps, oldest first), ``last_return`` (the step's return, ratio);
    ``market_memory`` (name -> array: what the market dynamic keeps between steps, e.g. a regime
    per market; empty at reset and for the random walk).

    Central bank and regulation (annual rates; the interactive runner may change them):
    ``deposit_facility_rate``, ``policy_rate``, ``lending_rate`` (the corridor), ``market_rate``
    (the scarcity-priced interbank rate of the last funding round), ``min_capital_ratio``
    (equity / risk-weighted assets below which LEND and INVEST are masked: the minimum plus
    ``ccyb``), ``ccyb`` (the countercyclical capital buffer the central bank agent sets, a ratio;
    0 unless it does), ``haircuts`` (the facility's collateral setting, a key of
    ``HAIRCUT_SCALES``), ``central_bank_losses`` (dollars the central bank lost on loans to banks
    that failed, since reset).

    Books since reset: ``income`` (line -> float[n] dollars, ``accounts.INCOME``); ``accounts``
    (the sectors around the banks); ``counterparty_losses`` float[n] (dollars lost on loans to
    defaulted banks); ``total_defaults`` (banks); ``cascades`` (banks per cascade);
    ``external_losses`` (dollars pushed onto depositors, outside creditors and the central bank);
    ``default_causes`` (cause -> banks); ``fire_sales``, ``book_sales`` (dollars sold);
    ``cb_lent`` (dollars the central bank lent); ``liquidity_sources`` (``LIQUIDITY_SOURCES`` ->
    dollars).

    ``funding``: the last funding round: ``requested``, ``received``, ``unmet`` float[n]
    dollars, ``rate`` (annual, volume-weighted; NaN when nothing was lent), ``offered`` and
    ``lent`` (dollars). Written by the funding market; read by the observation and ``step_end``.

    Clock: ``t`` (steps done), ``done`` (the episode is over).
    """

    seed: int
    rng: np.random.Generator
    capital0: np.ndarray
    target_leverage: np.ndarray
    risk: np.ndarray
    lender_order: np.ndarray
    lender_rank: np.ndarray
    initial_connections: tuple[np.ndarray, np.ndarray, np.ndarray]
    price0: np.ndarray
    depth: float
    chol: np.ndarray
    cash: np.ndarray
    book: np.ndarray
    deposits: np.ndarray
    deposits0: np.ndarray
    cb_loans: np.ndarray
    cb_term: np.ndarray
    holdings: np.ndarray
    basis: np.ndarray
    ledger: Ledger
    relationships: funding.Relationships
    active: np.ndarray
    defaulted: np.ndarray
    deleted: np.ndarray
    frozen: np.ndarray
    priorities: np.ndarray
    price: np.ndarray
    log_value: np.ndarray
    transient: np.ndarray
    price_before: np.ndarray
    price_hist: np.ndarray
    last_return: np.ndarray
    deposit_facility_rate: float
    policy_rate: float
    lending_rate: float
    market_rate: float
    min_capital_ratio: float
    income: dict[str, np.ndarray]
    accounts: SectorAccounts
    counterparty_losses: np.ndarray
    funding: dict[str, Any]
    total_defaults: int = 0
    cascades: list[int] = field(default_factory=list)
    external_losses: float = 0.0
    default_causes: dict[str, int] = field(default_factory=lambda: {"insolvency": 0, "illiquidity": 0, "contagion": 0})
    fire_sales: float = 0.0
    book_sales: float = 0.0
    cb_lent: float = 0.0
    liquidity_sources: dict[str, float] = field(default_factory=lambda: dict.fromkeys(LIQUIDITY_SOURCES, 0.0))
    market_memory: dict[str, np.ndarray] = field(default_factory=dict)
    ccyb: float = 0.0
    haircuts: str = "normal"
    central_bank_losses: float = 0.0
    t: int = 0
    done: bool = False


def initial_state(params: Params, seed: int) -> BankState:
    """Draw the economy of one episode: banks (or the configured ones), the network, the initial
    balance sheets (equity = capital0 for every bank), the markets and the loans' rates and
    maturities. Separate random streams for the draw, the step and the lender order, so drawing
    the network and banks does not shift the step noise."""
    from interbank.sim.figures import quote  # figures reads the state: imported here, not at the top

    cfg = params.config
    n, m = params.n, params.m
    gen_rng, step_rng, order_rng = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(3))
    if cfg.banks is not None:
        capital0 = np.array([b.capital for b in cfg.banks], dtype=np.float64)
        target_leverage = np.array([b.target_leverage for b in cfg.banks], dtype=np.float64)
        risk = np.array([b.risk for b in cfg.banks], dtype=np.float64)
    else:
        g = cfg.generation
        capital0 = g.capital_median * np.exp(g.capital_sigma * gen_rng.standard_normal(n))
        target_leverage = gen_rng.uniform(g.leverage_low, g.leverage_high, n)
        risk = gen_rng.uniform(g.risk_low, g.risk_high, n)
    # banks by their fitness as new counterparties (largest capital first) when the funding
    # market is tiered (network.reach > 0), else a seeded random order; fixed for the episode
    lender_order = np.argsort(fitness_ranks(capital0, n)) if cfg.network.reach > 0 else order_rng.permutation(n)

    assets0 = capital0 * target_leverage
    lender, borrower, amount = NETWORKS[cfg.network.type](n, cfg.network, gen_rng, sizes=capital0)
    bs = cfg.balance_sheet
    if amount is None:
        outdeg = np.bincount(lender, minlength=n)
        amount = (bs.interbank_share * assets0 / np.maximum(outdeg, 1))[lender]
    initial_connections = (lender.copy(), borrower.copy(), np.asarray(amount, dtype=np.float64).copy())

    mk = cfg.markets
    price0 = np.full(m, mk.initial_price)
    price = price0.copy()
    corr = np.full((m, m), mk.correlation) + (1.0 - mk.correlation) * np.eye(m)

    invest = bs.market_share * (0.5 + risk) * assets0
    basis = np.repeat((invest / m)[:, None], m, axis=1)
    ledger = Ledger(lender, borrower, amount, np.zeros(lender.size), np.zeros(lender.size, np.int64))
    # who dealt with whom recently (the funding market's existing counterparties): the initial links
    relationships = funding.Relationships(n, cfg.funding.relationship_memory)
    relationships.remember(lender, borrower, 0)
    loans_out, borrowings = ledger.loans_out(n), ledger.borrowings(n)
    book = bs.book_share * assets0
    deposits = np.maximum(assets0 - capital0 - borrowings, 0.0)
    # cash is the plug that makes equity equal the starting capital (a bank that borrows more
    # than its target size holds the proceeds as cash); a negative plug takes the book down
    # first, then is funded by extra deposits
    cash = capital0 + deposits + borrowings - loans_out - invest - book
    cut = np.minimum(np.maximum(-cash, 0.0), book)
    book -= cut
    cash += cut
    extra = np.maximum(-cash, 0.0)
    deposits += extra
    cash += extra

    cb = cfg.central_bank
    state = BankState(
        seed=seed, rng=step_rng, capital0=capital0, target_leverage=target_leverage, risk=risk,
        lender_order=lender_order, lender_rank=funding.ranks_of(lender_order),
        initial_connections=initial_connections, price0=price0,
        depth=mk.depth_fraction * float(assets0.sum()) if n else 1.0,
        chol=np.linalg.cholesky(corr + 1e-12 * np.eye(m)),
        cash=cash, book=book, deposits=deposits, deposits0=deposits.copy(), cb_loans=np.zeros(n), cb_term=np.zeros(n),
        holdings=basis / price, basis=basis, ledger=ledger, relationships=relationships,
        active=np.ones(n, dtype=bool), defaulted=np.zeros(n, dtype=bool), deleted=np.zeros(n, dtype=bool),
        frozen=np.zeros((n, len(FROZEN) + m)), priorities=np.zeros(n, dtype=np.int64),
        price=price, log_value=np.log(price0), transient=np.zeros(m), price_before=price.copy(),
        price_hist=np.tile(price, (MOMENTUM_WINDOW + 1, 1)), last_return=np.zeros(m),
        deposit_facility_rate=cb.deposit_rate, policy_rate=cb.policy_rate, lending_rate=cb.lending_rate,
        # the scarcity-priced market rate: the policy rate until a first round
        market_rate=cb.policy_rate, min_capital_ratio=cfg.regulation.min_capital_ratio,
        income={line: np.zeros(n) for line in INCOME}, accounts=SectorAccounts(m),
        counterparty_losses=np.zeros(n),
        funding={"requested": np.zeros(n), "received": np.zeros(n), "unmet": np.zeros(n),
                 "rate": float("nan"), "offered": 0.0, "lent": 0.0},
    )
    ledger.rate[:] = quote(state, params)[ledger.borrower]
    # initial loans mature evenly over the first maturity window (the first record last)
    ledger.due[:] = cfg.funding.maturity - np.arange(len(ledger)) % cfg.funding.maturity
    return state

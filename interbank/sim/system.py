"""The banking system: the façade over the core's explicit state.

``BankingSystem`` holds one ``BankState`` (``interbank.sim.state``: every array of the
economy, documented field by field) and the episode's ``Params``, and runs the step: the
pipeline of phases in ``interbank.sim.phases``, each a function ``phase(state, params, ctx)``
that declares what it reads and writes. Figures derived from the state (loan sums, equity,
ratios, the mask) are computed from it (``interbank.sim.figures``); the façade shares those of
the state as it stands between calls, and a method that writes the state keeps the ones its
declared writes leave valid. The data of the ``init``, ``step_end`` and ``complete`` events is
built in ``interbank.sim.event_data``.

Pure numpy, vectorised over banks and loans: a step costs O(banks + loans) (the funding market
adds a sort over the banks) and has no Python loop over banks or loans except where events are
written (the event stream is off in training).

Every field of the state reads (and writes) as an attribute of the façade: ``system.cash`` is
``system.state.cash``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any, Callable, Generic, TypeVar

import numpy as np

from interbank.sim import central_bank, event_data, figures, interventions, operations
from interbank.sim import defaults as defaults_
from interbank.sim.events import EventLog
from interbank.sim.figures import BOOKED, Figures
from interbank.sim.phases import StepContext, _gone, _live, draw_step, run_phases, validate_actions
from interbank.sim.state import FROZEN, LIQUIDITY_SOURCES, MOMENTUM_WINDOW, BankState, Params, initial_state

if TYPE_CHECKING:  # the core never imports pydantic at run time
    from interbank.config import EnvConfig

__all__ = ["BOOKED", "FROZEN", "LIQUIDITY_SOURCES", "MOMENTUM_WINDOW", "BankingSystem", "StepOutcome"]

T = TypeVar("T")


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


class _InState(Generic[T]):
    """A façade attribute that is the state's field of the same name (read and assigned)."""

    _BEFORE_RESET: dict[str, Any] = {"t": 0, "done": False}

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, obj: "BankingSystem | None", objtype: type | None = None) -> T:
        if obj is None:
            return self  # type: ignore[return-value]
        state = obj.state
        if state is None:
            if self.name in self._BEFORE_RESET:
                return self._BEFORE_RESET[self.name]
            raise AttributeError(f"{self.name}: the system has no state before reset()")
        return getattr(state, self.name)

    def __set__(self, obj: "BankingSystem", value: T) -> None:
        setattr(obj.state, self.name, value)


def _writes(*fields_: str) -> Callable[[Callable[..., T]], Callable[..., T]]:
    """Mark a façade method that writes the state's ``fields_``: after it, the figures shared so
    far keep only those whose inputs it did not write."""
    written = frozenset(fields_)

    def mark(method: Callable[..., T]) -> Callable[..., T]:
        @functools.wraps(method)
        def run(self: "BankingSystem", *args: Any, **kwargs: Any) -> T:
            try:
                return method(self, *args, **kwargs)
            finally:
                if self._figures is not None:
                    self._figures = self._figures.carry(written)
        return run
    return mark


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
    ``CLEARING_MODELS`` and cascade through the ledger and fire sales
    (``interbank.sim.defaults``).

    ``state``: the ``BankState`` (None before ``reset``); ``params``: the ``Params``;
    ``log``: the event log; ``max_steps``: the episode's length (steps); ``run_info``: extra,
    JSON-ready facts for the ``init`` event (policy, resolved config).

    Units: dollars for money, index points for prices, annual rates in the
    config (per step = annual / ``steps_per_year``).
    """

    # the state's fields, as attributes of the façade (``BankState`` documents them)
    seed: _InState[int] = _InState()
    capital0: _InState[np.ndarray] = _InState()
    target_leverage: _InState[np.ndarray] = _InState()
    risk: _InState[np.ndarray] = _InState()
    lender_order: _InState[np.ndarray] = _InState()
    lender_rank: _InState[np.ndarray] = _InState()
    initial_connections: _InState[tuple[np.ndarray, np.ndarray, np.ndarray]] = _InState()
    price0: _InState[np.ndarray] = _InState()
    depth: _InState[float] = _InState()
    cash: _InState[np.ndarray] = _InState()
    book: _InState[np.ndarray] = _InState()
    deposits: _InState[np.ndarray] = _InState()
    deposits0: _InState[np.ndarray] = _InState()
    cb_loans: _InState[np.ndarray] = _InState()
    cb_term: _InState[np.ndarray] = _InState()
    holdings: _InState[np.ndarray] = _InState()
    basis: _InState[np.ndarray] = _InState()
    ledger: _InState[Any] = _InState()
    relationships: _InState[Any] = _InState()
    active: _InState[np.ndarray] = _InState()
    defaulted: _InState[np.ndarray] = _InState()
    deleted: _InState[np.ndarray] = _InState()
    frozen: _InState[np.ndarray] = _InState()
    priorities: _InState[np.ndarray] = _InState()
    price: _InState[np.ndarray] = _InState()
    log_value: _InState[np.ndarray] = _InState()
    transient: _InState[np.ndarray] = _InState()
    price_before: _InState[np.ndarray] = _InState()
    price_hist: _InState[np.ndarray] = _InState()
    last_return: _InState[np.ndarray] = _InState()
    market_memory: _InState[dict[str, np.ndarray]] = _InState()
    deposit_facility_rate: _InState[float] = _InState()
    policy_rate: _InState[float] = _InState()
    lending_rate: _InState[float] = _InState()
    market_rate: _InState[float] = _InState()
    min_capital_ratio: _InState[float] = _InState()
    ccyb: _InState[float] = _InState()
    haircuts: _InState[str] = _InState()
    central_bank_losses: _InState[float] = _InState()
    income: _InState[dict[str, np.ndarray]] = _InState()
    accounts: _InState[Any] = _InState()
    counterparty_losses: _InState[np.ndarray] = _InState()
    funding: _InState[dict[str, Any]] = _InState()
    total_defaults: _InState[int] = _InState()
    cascades: _InState[list[int]] = _InState()
    external_losses: _InState[float] = _InState()
    default_causes: _InState[dict[str, int]] = _InState()
    fire_sales: _InState[float] = _InState()
    book_sales: _InState[float] = _InState()
    cb_lent: _InState[float] = _InState()
    liquidity_sources: _InState[dict[str, float]] = _InState()
    t: _InState[int] = _InState()
    done: _InState[bool] = _InState()

    def __init__(self, config: "EnvConfig", record_events: bool = True) -> None:
        self.config = config
        self.params = Params.of(config)
        self.log = EventLog(record_events)
        self.n = self.params.n
        self.names: list[str] = list(self.params.names)
        self.markets: list[str] = list(self.params.markets)
        self.m = self.params.m
        self.max_steps = config.max_steps
        self.scheduled = self.params.scheduled
        self.state: BankState | None = None
        self.run_info: dict[str, Any] = {}  # extra, JSON-ready facts for the init event (policy, resolved config)
        self.last_outcome: StepOutcome | None = None
        self._figures: Figures | None = None  # of the state as it stands (made on first use)

    # ------------------------------------------------------------------ reset
    def reset(self, seed: int | None = None) -> None:
        """Draw a new episode (``seed``: the config's by default) and emit ``init``."""
        seed = self.config.seed if seed is None else seed
        self.log = EventLog(self.log.enabled)
        self.state = initial_state(self.params, seed)
        self._figures = None
        self.last_outcome = None
        if self.log.enabled:
            self.log.emit(0, "init", event_data.init_data(self.state, self.params, self.max_steps, self.run_info))

    def figures(self) -> Figures:
        """The figures of the state as it stands (shared until a method writes the state)."""
        if self._figures is None:
            assert self.state is not None, "call reset() first"
            self._figures = Figures(self.state, self.params)
        return self._figures

    # ------------------------------------------------------------ accounting
    @property
    def lender(self) -> np.ndarray:
        return self.state.ledger.lender

    @property
    def borrower(self) -> np.ndarray:
        return self.state.ledger.borrower

    @property
    def amount(self) -> np.ndarray:
        return self.state.ledger.amount

    def loans_out(self) -> np.ndarray:
        return self.figures().loans_out

    def borrowings(self) -> np.ndarray:
        return self.figures().borrowings

    def investment_values(self) -> np.ndarray:
        return figures.investment_values(self.state)

    def investment_total(self) -> np.ndarray:
        return figures.investment_total(self.state)

    def total_assets(self) -> np.ndarray:
        return figures.total_assets(self.state, self.figures().loans_out)

    def balance_sheet(self) -> dict[str, np.ndarray]:
        """Every bank's balance sheet as arrays (dollars; ``figures.Sheet``)."""
        return dict(self.figures().sheet[0])

    def equity(self) -> np.ndarray:
        return self.figures().equity

    def leverage(self) -> np.ndarray:
        """assets / equity (inf for a bank with no equity)."""
        return self.figures().leverage

    def required_reserves(self) -> np.ndarray:
        return figures.required_reserves(self.state, self.params)

    def excess_cash(self) -> np.ndarray:
        return figures.excess_cash(self.state, self.params)

    def quote(self, leverage: np.ndarray | None = None) -> np.ndarray:
        """The annual interbank rate each bank would pay on a new loan now (``figures.quote``)."""
        return figures.quote(self.state, self.params, self.figures().leverage if leverage is None else leverage)

    def collateral_capacity(self) -> np.ndarray:
        """What the central bank would still lend each bank: collateral after haircuts minus loans drawn."""
        return figures.collateral_capacity(self.state, self.params)

    def capital_ratio(self) -> np.ndarray:
        """equity / risk-weighted assets."""
        return self.figures().capital_ratio

    def liquidity_coverage(self) -> np.ndarray:
        """The liquidity coverage ratio (LCR)."""
        return self.figures().liquidity_coverage

    def momentum(self) -> np.ndarray:
        """Return of each market over the last MOMENTUM_WINDOW steps."""
        return figures.momentum(self.state)

    def connections(self) -> int:
        """Distinct lender -> borrower pairs with a loan outstanding."""
        return figures.connections(self.state)

    def action_mask(self) -> np.ndarray:
        """bool[n_banks, 5]: which actions each bank may take now (gone banks: HOLD only)."""
        return self.figures().action_mask

    def intermediation_capacity(self) -> np.ndarray:
        """Dollars each live bank could carry as a dealer between two banks outside each other's
        reach (borrow and lend the same amount) and still meet both minimums."""
        return self.figures().intermediation_capacity()

    def total_capital(self) -> float:
        return event_data.total_capital(self.state, self.figures())

    def welfare(self) -> float:
        """Social welfare, in initial total equity: the equity of the banks still open minus the
        losses pushed onto depositors, outside creditors and the central bank so far. 1.0 at reset;
        a default's loss to other banks shows in their equity, its loss to outsiders here."""
        return (self.total_capital() - self.state.external_losses) / float(self.state.capital0.sum())

    # ------------------------------------------------------------- operations
    @_writes("holdings", "basis", "accounts")
    def fire_sell(self, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``operations.fire_sell``: sell up to ``target`` dollars of each bank's positions; the
        caller pays the proceeds and moves prices."""
        return operations.fire_sell(self.state, self.params, target)

    @_writes("log_value", "transient", "price", "accounts")
    def impact(self, flow: np.ndarray) -> None:
        """Move prices by a net flow (dollars per market): part permanent, part transient."""
        operations.impact(self.state, self.params, flow)

    @_writes("price", "accounts")
    def reprice(self) -> None:
        """Set prices from the market state; every holder's revaluation is a market move."""
        operations.reprice(self.state, self.params)

    @_writes("cb_lent", "accounts")
    def cb_events(self, operation: str, amounts: np.ndarray) -> None:
        """Record central bank facility use (one event per bank with a positive amount)."""
        operations.cb_events(self.state, self.params, self.log, operation, amounts)

    @_writes("holdings", "cash", "basis", "accounts")
    def book_profits(self, t: int) -> None:
        """Realise market P&L (``operations.book_profits``)."""
        operations.book_profits(self.state, self.params, self.log, t)

    @_writes(*defaults_.WRITES)
    def resolve_defaults(self, first_cause: str = "insolvency") -> tuple[np.ndarray, int]:
        """Default every insolvent or illiquid active bank, repeat until no new default.
        Returns (defaulted bank indices, cascade depth)."""
        out, depth, _ = defaults_.resolve_defaults(self.state, self.params, self.log, self.figures(), first_cause)
        return out, depth

    # --------------------------------------------------- interactive hooks
    @_writes(*interventions.WRITES[interventions.wipe_external_assets])
    def wipe_external_assets(self, banks: np.ndarray, fraction: float = 1.0) -> None:
        """Exogenous shock: ``banks`` lose ``fraction`` of their cash, book and market positions
        (no fire sale: the assets are simply gone). Used by the validation experiments."""
        interventions.wipe_external_assets(self.state, self.params, banks, fraction)

    @_writes(*interventions.WRITES[interventions.set_priorities])
    def set_priorities(self, priorities: np.ndarray) -> None:
        """The priority in force per bank (for events); gone banks keep their last one."""
        interventions.set_priorities(self.state, self.params, priorities)

    @_writes(*interventions.WRITES[interventions.add_capital])
    def add_capital(self, bank: int, amount: float) -> None:
        """Inject ``amount`` dollars of new equity as cash (paid in by shareholders)."""
        interventions.add_capital(self.state, self.params, bank, amount)

    @_writes(*interventions.WRITES[interventions.delete_bank])
    def delete_bank(self, bank: int) -> dict[str, float]:
        """Remove an active bank, settling its positions like a default (fire sale of its
        market positions, its creditors paid by the clearing model, its claims passed to
        external creditors). Returns the settlement figures."""
        return interventions.delete_bank(self.state, self.params, bank, self.figures())

    @_writes(*interventions.WRITES[interventions.inject_liquidity])
    def inject_liquidity(self, bank: int, amount: float) -> None:
        """Emergency liquidity: the central bank lends ``amount`` to ``bank`` (cash up, central
        bank loan up, equity unchanged), at the lending rate."""
        interventions.inject_liquidity(self.state, self.params, bank, amount)

    @_writes(*interventions.WRITES[interventions.set_policy_rate])
    def set_policy_rate(self, rate: float) -> tuple[float, float, float]:
        """Move the corridor so the policy rate is ``rate``, keeping its widths (the deposit
        rate stops at 0). Returns (deposit, policy, lending) rates."""
        return interventions.set_policy_rate(self.state, self.params, rate)

    @_writes(*interventions.WRITES[interventions.set_capital_requirement])
    def set_capital_requirement(self, ratio: float) -> None:
        """Change the minimum capital ratio (equity / RWA) below which LEND and INVEST are masked."""
        interventions.set_capital_requirement(self.state, self.params, ratio)

    @_writes(*central_bank.WRITES)
    def central_bank_decision(self, action: int) -> list[dict[str, Any]]:
        """``central_bank.decide``: one move of the central bank agent (an index into ``CB_ACTIONS``
        its mask allows); returns the data of its ``central_bank`` events (without the source)."""
        return central_bank.decide(self.state, self.params, self.figures(), action)

    # ------------------------------------------------------------------ step
    def step(self, actions: np.ndarray, priorities: np.ndarray | None = None) -> StepOutcome:
        """Advance one step. ``actions``: int[n_banks] (entries of gone banks are ignored);
        ``priorities``: int[n_banks] priority in force per bank (for the events)."""
        state, params = self.state, self.params
        if state is None or state.done:
            raise RuntimeError("the episode is over; call reset()")
        n, m = params.n, params.m
        state.t += 1
        if priorities is not None:
            interventions.set_priorities(state, params, priorities)
        if self.log.enabled:
            self.log.emit(state.t, "step_start", {"active_banks": int(state.active.sum())})
        before = self.figures()  # of the state the step starts from
        gone = (~state.active).nonzero()[0]  # (the phases share it until one writes ``active``)
        acts, invalid = validate_actions(state, params, before.action_mask, actions, gone)
        ctx = StepContext(state.t, acts, invalid, draw_step(state, params), np.zeros(m), np.zeros(n),
                          np.zeros(n, bool), np.zeros(n), log=self.log, gone=gone)
        equity_before, booked_before = before.equity, before.booked
        self._figures = None  # the phases write the state: nothing above holds for it until they are done
        after = run_phases(state, params, ctx, before)
        # the market result is what the other lines leave of each open bank's equity change
        equity_after = after.equity
        booked_after = figures.booked(state)
        state.income["market_result"] += _live(equity_after - equity_before - (booked_after - booked_before),
                                               _gone(state, ctx))
        state.price_hist = np.concatenate([state.price_hist[1:], state.price[None]])  # np.roll's shift, cheaper
        state.last_return = state.price / state.price_before - 1.0
        # the figures of the state the step ends in (market_result is not a booked line)
        self._figures = after.carry(("income", "price_hist", "last_return"), booked=booked_after)

        reason = None
        if not state.active.any():
            reason = "all_defaulted"
        elif state.t >= self.max_steps:
            reason = "max_steps"
        if self.log.enabled:
            self.log.emit(state.t, "step_end", event_data.step_end_data(state, params, self.figures()))
        if reason is not None:
            state.done = True
            self._emit_complete(reason)
        outcome = StepOutcome(acts, invalid, ctx.new_defaults, ctx.shortfall, ctx.cascade_depth, reason is not None)
        self.last_outcome = outcome
        return outcome

    # --------------------------------------------------------------- events
    def snapshots(self, idx: np.ndarray | None = None) -> list[dict[str, Any]]:
        """Balance sheets as event dicts; gone banks show their sheet at the moment they left."""
        return event_data.snapshots(self.state, self.params, self.figures(), idx)

    def market_states(self) -> list[dict[str, Any]]:
        return event_data.market_states(self.state, self.params)

    def summary(self) -> dict[str, Any]:
        return event_data.summary(self.state, self.figures())

    def _emit_complete(self, reason: str) -> None:
        self.log.emit(self.state.t, "complete", event_data.complete_data(self.state, reason, self.figures()))

    def stop(self, reason: str = "stopped") -> None:
        """End the episode early (interactive runner)."""
        if not self.done:
            self.state.done = True
            self._emit_complete(reason)


assert {f.name for f in fields(BankState)} - {"rng", "chol"} <= set(vars(BankingSystem)), \
    "every field of BankState reads as an attribute of BankingSystem"

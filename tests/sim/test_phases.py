"""Each phase of the step, run alone on a tiny economy and solved by hand.

Every economy starts from the everything-off scenario (``tests/sim/scenarios.py``) with one
market ``M`` at 100 and turns on only what the phase uses. A bank of capital 10 and target
leverage 10 has assets 100; with ``book_share`` b and ``market_share`` s (risk 0.5, so
s x (0.5 + 0.5) of the assets in the market) its sheet is: book 100 b, market 100 s (100 s / 100
units at 100), loans out its edges, deposits 100 - 10 - borrowings, cash the rest.
The markets' depth is ``depth_fraction`` 3 x the banks' initial assets in total.

Each test builds the state through ``BankingSystem.reset`` (the economy's draw), then calls one
phase ``phase(state, params, ctx)`` with hand-set draws, and checks what it wrote. The last tests
check the phases' declared writes, and that the figures the pipeline carries from phase to phase
are those of the state, bit for bit.
"""

from __future__ import annotations

import copy
import math
from dataclasses import fields

import numpy as np
import pytest

from interbank.config import resolve_env_config
from interbank.sim.actions import BORROW, DIVEST, HOLD, INVEST, LEND
from interbank.sim.events import EventLog
from interbank.sim.figures import INPUTS, Figures
from interbank.sim.phases import (
    PHASES, StepContext, actions, booking, defaults, deposit_flows, draw_step, funding_market,
    interest_and_maturities, liquidity_fallback, markets, run_phases, transactions, validate_actions,
)
from interbank.sim.state import BankState, Params
from interbank.sim.system import BankingSystem
from tests.sim.scenarios import everything_off

BANK = {"capital": 10, "target_leverage": 10, "risk": 0.5}
ONE_MARKET = {"names": ["M"]}


def _economy(n_banks: int = 2, **sections):
    """(state, params, log) of a fresh everything-off economy of ``n_banks`` standard banks."""
    sections.setdefault("banks", [BANK] * n_banks)
    sections["markets"] = {**ONE_MARKET, **sections.get("markets", {})}
    s = BankingSystem(resolve_env_config(everything_off(max_steps=10, **sections)), record_events=True)
    s.reset(0)
    s.log.drain()
    return s.state, s.params, s.log


def _ctx(state: BankState, params: Params, acts=None, t: int = 1, log: EventLog | None = None, **draws) -> StepContext:
    """A step's context with quiet draws (no runs, no crashes, no noise) unless given."""
    n, m = params.n, params.m
    d = {"u_mkt": np.zeros(n), "u_run": np.ones(n), "z_flow": np.zeros(n), "z_book": np.zeros(n),
         "z_mkt": np.zeros(m), "u_crash": np.ones(m)}
    d.update({k: np.asarray(v, dtype=float) for k, v in draws.items()})
    state.t = t
    acts = np.full(n, HOLD) if acts is None else np.asarray(acts)
    return StepContext(t, acts, np.zeros(n, bool), d, np.zeros(m), np.zeros(n), np.zeros(n, bool), np.zeros(n),
                       log=log or EventLog(False), figures=Figures(state, params))


def test_validate_actions_holds_masked_actions_and_marks_gone_banks():
    """Three banks with no loans out and nothing in markets: BORROW and DIVEST are masked for all.
    bank_0 sends BORROW (masked: HOLD, invalid), bank_1 sends 7 (out of range: HOLD, invalid),
    bank_2 is gone (-1, not invalid)."""
    state, params, _ = _economy(3)
    state.active[2] = False
    mask = Figures(state, params).action_mask
    acts, invalid = validate_actions(state, params, mask, np.array([BORROW, 7, LEND]))
    assert acts.tolist() == [HOLD, HOLD, -1]
    assert invalid.tolist() == [True, True, False]


def test_actions_trade_at_the_midpoint_and_record_offers_and_calls():
    """Four banks, book 80, market 10 (0.1 units at 100), cash 10, no reserve requirement, so the
    excess cash is 10. Depth 3 x 400 = 1200.

    bank_0 INVESTs 0.2 x (0.5 + 0.5) x 10 = 2; bank_1 DIVESTs half its 0.1 units (5 at 100);
    net flow 2 - 5 = -3, executed at 100 exp(0.5 x 1 x -3 / 1200) = 100 exp(-0.00125).
    bank_0: cash 8, basis 12, units 0.1 + 2 / (100 exp(-0.00125)); bank_1: cash 10 + 0.05 x
    100 exp(-0.00125), units 0.05, basis 5. bank_2 LENDs: offers 0.5 x 1 x 10 = 5; bank_3
    BORROWs: calling."""
    state, params, _ = _economy(4, balance_sheet={"book_share": 0.8, "market_share": 0.1})
    assert state.cash.tolist() == pytest.approx([10] * 4) and state.holdings[:, 0].tolist() == pytest.approx([0.1] * 4)
    ctx = _ctx(state, params, [INVEST, DIVEST, LEND, BORROW])
    actions(state, params, ctx)
    executed = 100 * math.exp(-0.00125)
    assert ctx.flow.tolist() == pytest.approx([-3.0])
    assert state.cash.tolist() == pytest.approx([8, 10 + 0.05 * executed, 10, 10])
    assert state.holdings[:, 0].tolist() == pytest.approx([0.1 + 2 / executed, 0.05, 0.1, 0.1])
    assert state.basis[:, 0].tolist() == pytest.approx([12, 5, 10, 10])
    assert ctx.offers.tolist() == pytest.approx([0, 0, 5, 0])
    assert ctx.calling.tolist() == [False, False, False, True]
    assert state.price.tolist() == [100.0]  # the market moves in the next phase


def test_markets_move_prices_by_the_flow_and_a_scheduled_crash():
    """Two banks of 100 (depth 600), 0.1 units each; a flow of +6 dollars moves the log price by
    6 / 600 = 0.01, half permanent, half transient; a scheduled crash of 50% at step 1 takes
    log(0.5) off the value: price 50 exp(0.01). The market move booked is the units outstanding
    (0.2, no investor holds any) x (50 exp(0.01) - 100)."""
    state, params, _ = _economy(2, balance_sheet={"market_share": 0.1},
                                shocks={"scheduled": [{"step": 1, "type": "market_crash", "market": "M", "size": 0.5}]})
    ctx = _ctx(state, params)
    ctx.flow[:] = 6.0
    markets(state, params, ctx)
    assert state.price_before.tolist() == [100.0]
    assert state.transient.tolist() == pytest.approx([0.005])
    assert state.log_value.tolist() == pytest.approx([math.log(100) + 0.005 + math.log(0.5)])
    assert state.price.tolist() == pytest.approx([50 * math.exp(0.01)])
    assert state.accounts.exogenous["market_moves"] == pytest.approx(0.2 * (50 * math.exp(0.01) - 100))


def test_interest_calls_and_repayment_at_maturity():
    """A (bank_0) lends 20 to B (bank_1), both book 50; A: deposits 90, cash 10 + 90 - 20 - 50 = 30;
    B: deposits 100 - 10 - 20 = 70, cash 10 + 70 + 20 - 50 = 50. The loan carries 5.2% a year
    (52 steps): 0.1% a step; the book earns 5.2% (0.1%), deposits cost 2.6% (0.05%).

    Income: A +50 x 0.001 - 90 x 0.0005 = +0.005, B +0.05 - 0.035 = +0.015; the loan grows to
    20.02 (A's interest income 0.05 + 0.02, B's expense 0.035 + 0.02). A calls (BORROW): half,
    10.01, is due now: A's cash 40.015, B's 40.005. The other half matures now (maturity 1) and B
    has the cash: it repays 10.01 in full (A 50.025, B 29.995); the repaid record is left at 0 for
    the funding market's compaction to drop."""
    state, params, _ = _economy(2, balance_sheet={"book_share": 0.5}, network={"edges": [[0, 1, 20]]},
                                rates={"book": 0.052, "deposit": 0.026}, funding={"maturity": 1})
    assert state.cash.tolist() == pytest.approx([30, 50]) and state.deposits.tolist() == pytest.approx([90, 70])
    state.ledger.rate[:] = 0.052
    ctx = _ctx(state, params, [BORROW, HOLD])
    ctx.calling[0] = True
    interest_and_maturities(state, params, ctx)
    assert state.income["interest_income"].tolist() == pytest.approx([0.07, 0.05])
    assert state.income["interest_expense"].tolist() == pytest.approx([0.045, 0.055])
    assert state.cash.tolist() == pytest.approx([50.025, 29.995])
    assert state.ledger.amount.tolist() == [0.0]
    state.ledger.compact()
    assert len(state.ledger) == 0
    assert state.cash.sum() + state.book.sum() == pytest.approx(80 + 100 + 0.02)  # money moved, and the book's interest in


def test_deposit_flows_move_money_between_banks_and_runs_take_it_out():
    """Two banks with deposits 90 and cash 100 (no book). Flows of 10% x 90 x z with z = (1, -1):
    +9 and -9 (zero-sum already); bank_1 draws a run (u_run 0 < 0.5): 10% of 90 = 9 more leaves.
    Deposits 99 and 72, cash 109 and 82; households' money outside the banks grows by the 9 run off."""
    state, params, _ = _economy(2, deposit_flows={"volatility": 0.1},
                                shocks={"withdrawal_prob": 0.5, "withdrawal_size": 0.1})
    ctx = _ctx(state, params, z_flow=[1.0, -1.0], u_run=[1.0, 0.0])
    deposit_flows(state, params, ctx)
    assert state.deposits.tolist() == pytest.approx([99, 72])
    assert state.cash.tolist() == pytest.approx([109, 82])
    assert state.accounts.households == pytest.approx(9)


def test_funding_market_matches_an_offer_to_a_request_at_the_priced_rate():
    """Two banks, book 80, deposits 90, cash 20, reserve requirement 10%. B (bank_1) has lost 18
    of deposits and cash: deposits 72, cash 2, required 7.2, so it requests 5.2. A offers 5 (its
    spare cash above 9 is 11). Corridor 0% to 2%: market rate 2% x 5.2 / (5.2 + 5); B's leverage
    82 / 10 = 8.2 adds 0.1% x 8.2. A new link A -> B of 5 at that rate, due at 1 + maturity 10;
    B is left 0.2 short (unmet)."""
    state, params, _ = _economy(2, balance_sheet={"book_share": 0.8}, regulation={"reserve_requirement": 0.1},
                                central_bank={"lending_rate": 0.02}, funding={"spread_per_leverage": 0.001, "maturity": 10})
    state.deposits[1] -= 18
    state.cash[1] -= 18
    ctx = _ctx(state, params, [LEND, HOLD])
    ctx.offers[0] = 5.0
    funding_market(state, params, ctx)
    market_rate = 0.02 * 5.2 / 10.2
    assert state.market_rate == pytest.approx(market_rate)
    led = state.ledger
    assert (led.lender.tolist(), led.borrower.tolist(), led.due.tolist()) == ([0], [1], [11])
    assert led.amount.tolist() == pytest.approx([5.0]) and led.rate.tolist() == pytest.approx([market_rate + 0.0082])
    assert state.cash.tolist() == pytest.approx([15, 7])
    f = state.funding
    assert f["requested"].tolist() == pytest.approx([0, 5.2]) and f["unmet"].tolist() == pytest.approx([0, 0.2])
    assert (f["offered"], f["lent"], f["rate"]) == pytest.approx((5, 5, market_rate + 0.0082))
    assert state.liquidity_sources["interbank"] == pytest.approx(5)
    assert state.relationships.pairs(1)[0].tolist() == [0] and state.relationships.pairs(1)[1].tolist() == [1]


def test_transactions_emit_one_event_per_recorded_trade_in_bank_order():
    """The records left by the earlier phases become ``transaction`` events, by bank index, with
    the action executed and the priority in force (PROFIT: 0)."""
    state, params, _ = _economy(3)
    log = EventLog(True)
    ctx = _ctx(state, params, [LEND, HOLD, BORROW], log=log)
    ctx.tx = {2: ("bank_0", None, 1.5), 0: ("bank_1", None, 5.0)}
    transactions(state, params, ctx)
    got = [(e["type"], e["data"]["bank"], e["data"]["action"], e["data"]["counterparty"], e["data"]["amount"],
            e["data"]["priority"]) for e in log.drain()]
    assert got == [("transaction", "bank_0", "LEND", "bank_1", 5.0, "PROFIT"),
                   ("transaction", "bank_2", "BORROW", "bank_0", 1.5, "PROFIT")]


def test_liquidity_fallback_fire_sells_then_sells_the_book():
    """No central bank. bank_0 owes 10 beyond its cash (cash -10), holds 10 in the market (0.1
    units at 100) and a book of 80. Fire sale: it would need 10 / 0.95, more than it has, so it
    sells everything for 9.5 (5% discount): cash -0.5; the 10 sold moves the log price by
    -10 / 600. Book sale at a 30% discount: 0.5 / 0.7 of the book goes for 0.5: cash 0."""
    state, params, _ = _economy(2, balance_sheet={"book_share": 0.8, "market_share": 0.1},
                                central_bank={"enabled": False})
    state.cash[0] = -10.0
    ctx = _ctx(state, params)
    liquidity_fallback(state, params, ctx)
    assert ctx.shortfall.tolist() == pytest.approx([10, 0])
    assert state.holdings[0].tolist() == [0.0] and state.cash[0] == pytest.approx(0, abs=1e-12)
    assert state.book.tolist() == pytest.approx([80 - 0.5 / 0.7, 80])
    assert state.fire_sales == pytest.approx(10) and state.book_sales == pytest.approx(0.5 / 0.7)
    assert state.price.tolist() == pytest.approx([100 * math.exp(-10 / 600)])
    assert state.income["other"].tolist() == pytest.approx([-0.5 / 0.7 * 0.3, 0])
    src = state.liquidity_sources
    assert (src["facility"], src["fire_sale"], src["book_sale"], src["unmet"]) == pytest.approx((0, 9.5, 0.5, 0))


def test_booking_realises_gains_and_writes_losses_into_the_basis_every_fifth_step():
    """Two banks with 0.1 units each; the price is 120 at step 5. bank_0 (basis 10) books a gain
    of 2: sells 2 / 120 units, cash +2, basis = what it holds, 10. bank_1 (basis 14 by hand)
    books a loss of 2: sells nothing, basis 12. At step 4 nothing is booked."""
    state, params, _ = _economy(2, balance_sheet={"market_share": 0.1})
    state.price[:] = 120.0
    state.basis[1] = 14.0
    cash = state.cash.copy()
    booking(state, params, _ctx(state, params, t=4))
    assert state.basis[:, 0].tolist() == [10.0, 14.0]
    log = EventLog(True)
    booking(state, params, _ctx(state, params, t=5, log=log))
    assert state.holdings[:, 0].tolist() == pytest.approx([0.1 - 2 / 120, 0.1])
    assert (state.cash - cash).tolist() == pytest.approx([2, 0])
    assert state.basis[:, 0].tolist() == pytest.approx([10, 12])
    events = [e["data"] for e in log.drain()]
    assert [e["bank"] for e in events] == ["bank_0", "bank_1"]
    assert [(e["profit"], e["return"]) for e in events] == [pytest.approx((2, 0.2)), pytest.approx((-2, -2 / 14))]


def test_defaults_cascade_by_hand():
    """The cascade of ``test_cascade.py`` on the state directly: A (bank_0) borrowed 30 from B,
    B 20 from C; A loses 15 of cash (equity -5). Zero recovery: B loses its 30 claim (equity -20)
    and defaults by contagion; C loses 20 and survives with equity 30. The phase leaves the
    figures of the state it ends in (``ctx.left``)."""
    state, params, _ = _economy(
        3, banks=[BANK, BANK, {"capital": 50, "target_leverage": 4, "risk": 0.5}],
        network={"edges": [[1, 0, 30], [2, 1, 20]]}, clearing={"model": "fixed_recovery", "recovery": 0.0})
    state.cash[0] -= 15
    log = EventLog(True)
    ctx = _ctx(state, params, log=log)
    defaults(state, params, ctx)
    assert ctx.new_defaults.tolist() == [0, 1] and ctx.cascade_depth == 2
    assert state.active.tolist() == [False, False, True] and state.defaulted.tolist() == [True, True, False]
    assert state.counterparty_losses.tolist() == pytest.approx([0, 30, 20])
    assert state.default_causes == {"insolvency": 1, "illiquidity": 0, "contagion": 1}
    assert ctx.left is not None and ctx.left.equity[2] == pytest.approx(30)
    assert [(e["type"], e["data"].get("bank")) for e in log.drain()] == [
        ("default", "bank_0"), ("default", "bank_1"), ("cascade", None)]
    assert len(state.ledger) == 0


# ------------------------------------------------------------- the pipeline's contracts
def _same(a, b) -> bool:
    if isinstance(a, np.ndarray):
        return a.shape == b.shape and np.array_equal(a, b, equal_nan=a.dtype.kind == "f")
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if hasattr(a, "__dict__"):
        return _same(vars(a), vars(b))
    if isinstance(a, float) and a != a:
        return b != b
    return a == b


def _busy(seed: int) -> BankingSystem:
    """A stressed 30-bank economy with events on, a few steps in."""
    cfg = resolve_env_config("configs/stress.yaml", n_banks=30, max_steps=40, seed=seed)
    s = BankingSystem(cfg, record_events=True)
    s.reset(seed)
    return s


@pytest.mark.parametrize("seed", [0, 1])
def test_every_phase_writes_only_what_it_declares(seed):
    s = _busy(seed)
    rng = np.random.default_rng(seed)
    for _ in range(12):
        state, params = s.state, s.params
        state.t += 1
        acts, invalid = validate_actions(state, params, s.action_mask(), rng.integers(0, 5, params.n))
        ctx = StepContext(state.t, acts, invalid, draw_step(state, params), np.zeros(params.m), np.zeros(params.n),
                          np.zeros(params.n, bool), np.zeros(params.n), log=s.log)
        fig = Figures(state, params)
        for ph in PHASES:
            before = copy.deepcopy({f.name: getattr(state, f.name) for f in fields(BankState) if f.name != "rng"})
            fig = run_phases(state, params, ctx, fig, phases=(ph,))
            changed = {name for name, old in before.items() if not _same(old, getattr(state, name))}
            assert changed <= ph.writes, f"{ph.__name__} wrote {sorted(changed - ph.writes)} undeclared"
        state.t -= 1
        s._figures = None
        s.step(np.full(params.n, HOLD))  # carry on from where the phases left the state
        if s.done:
            break


@pytest.mark.parametrize("seed", [0, 1])
def test_the_figures_carried_between_phases_are_those_of_the_state_bit_for_bit(seed):
    """Each phase starts with the figures its predecessors' writes left valid: compare every
    figure the pipeline carries with the figure computed afresh from the state."""
    s = _busy(seed)
    rng = np.random.default_rng(seed)
    checked = 0
    for _ in range(12):
        state, params = s.state, s.params
        state.t += 1
        fig = s.figures()
        _ = fig.action_mask, fig.equity, fig.capital_ratio, fig.liquidity_coverage, fig.booked, fig.leverage
        acts, invalid = validate_actions(state, params, fig.action_mask, rng.integers(0, 5, params.n))
        ctx = StepContext(state.t, acts, invalid, draw_step(state, params), np.zeros(params.m), np.zeros(params.n),
                          np.zeros(params.n, bool), np.zeros(params.n), log=s.log)
        for ph in PHASES:
            fig = run_phases(state, params, ctx, fig, phases=(ph,))
            fresh = Figures(state, params)
            for slot in INPUTS:
                kept = getattr(fig, slot)
                if kept is not None:
                    name = {"_lo": "loans_out", "_bo": "borrowings", "_cr": "capital_ratio",
                            "_lcr": "liquidity_coverage", "_mask": "action_mask"}.get(slot, slot.lstrip("_"))
                    assert _same(kept, getattr(fresh, name)), f"{name} after {ph.__name__}"
                    checked += 1
        state.t -= 1
        s._figures = None
        s.step(np.full(params.n, HOLD))
        if s.done:
            break
    assert checked > 50


def test_the_market_an_investor_buys_is_searchsorted_on_the_momentum_cdf():
    # one comparison per market gives searchsorted's picks, clipped to the last market: ties with a
    # cdf entry, draws past the end and a NaN tail (a NaN logit) included
    from interbank.sim.phases import _market_picked
    rng = np.random.default_rng(5)
    for cdf in (np.array([0.3, 1.0]), np.array([0.25, 0.5, 1.0]), np.array([0.1, 0.1, 0.7, 1.0]),
                np.array([0.4, np.nan]), np.array([0.2, 0.6, 0.9, 0.95, 1.0])):
        u = np.concatenate([rng.random(500), cdf[np.isfinite(cdf)], [0.0, 1.0, np.nextafter(1.0, 0.0)]])
        expected = np.minimum(np.searchsorted(cdf, u, side="right"), cdf.size - 1)
        got = _market_picked(cdf, u)
        assert got.dtype == expected.dtype and got.tolist() == expected.tolist()

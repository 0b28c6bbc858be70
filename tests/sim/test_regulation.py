"""Regulation and the central bank: ratios by hand, masks below the capital minimum, facility
arithmetic, interventions.

One bank, capital 10, leverage 10 -> assets 100: book 70 (book_share 0.7), markets 10
(market_share 0.1 x (0.5 + risk 0.5)), cash 20, deposits 90; no interbank loans.
RWA = 0 x 20 + 1.0 x 70 + 2.5 x 10 = 95, capital ratio 10 / 95.
LCR: HQLA = 20 + 0.5 x 10 = 25; outflows 0.1 x 90 = 9 -> 25 / 9.
Facility capacity: 0.7 x 70 + 0.5 x 10 = 54.
As a dealer (borrow and lend the same a): capital allows (10 / 0.08 - 95) / 0.4 = 75, liquidity
25 / (1 x (1 - 0.75)) - 9 = 91, so 75; then RWA 125 (capital ratio exactly 8%), outflows 84,
inflows min(75, 0.75 x 84 = 63), LCR 25 / 21.
"""

import numpy as np
import pytest

from interbank.envs import parallel_env
from interbank.sim.actions import BORROW, DIVEST, HOLD, INVEST, LEND

ONE = {
    "max_steps": 5, "banks": [{"capital": 10, "target_leverage": 10, "risk": 0.5}] * 2,
    "network": {"type": "explicit", "edges": []},
    "balance_sheet": {"market_share": 0.1, "book_share": 0.7},
    "markets": {"volatility": 0.0, "drift": 0.0},
    "deposit_flows": {"volatility": 0.0},
    "shocks": {"crash_prob": 0.0, "withdrawal_prob": 0.0},
}


def _env(**overrides):
    env = parallel_env({**ONE, **overrides}, record_events=True)
    env.reset(seed=0)
    env.drain_events()
    return env


def test_ratios_by_hand():
    s = _env().system
    assert s.capital_ratio()[0] == pytest.approx(10 / 95)
    assert s.liquidity_coverage()[0] == pytest.approx(25 / 9)
    assert s.collateral_capacity()[0] == pytest.approx(54)
    (bank, _) = s.snapshots()
    assert bank["capital_ratio"] == pytest.approx(10 / 95) and bank["lcr"] == pytest.approx(25 / 9)


def test_a_ratio_over_a_denominator_next_to_zero_is_inf_without_a_warning():
    """A subnormal denominator (a bank with almost no risk-weighted assets) overflows the quotient to
    inf, above any floor: the arithmetic is right, so nothing warns (hypothesis found it warning)."""
    import warnings

    from interbank.sim import regulation

    num, den = np.array([1.0, 2.0, 1.0]), np.array([1e-310, 4.0, 0.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert regulation.ratio(num[:2], den[:2], regulation.CAP).tolist() == [np.inf, 0.5]
        assert regulation.ratio(num, den, regulation.CAP).tolist() == [np.inf, 0.5, regulation.CAP]
        assert regulation.at_least(num, den, regulation.CAP, 1.0).tolist() == [True, False, True]


def test_below_the_capital_minimum_lend_and_invest_are_masked():
    env = _env()
    assert env.action_mask_array()[0].tolist() == [1, 0, 1, 1, 1]
    env.central_bank("set_capital_requirement", amount=0.11)  # 10 / 95 = 0.105 < 0.11
    mask = env.action_mask_array()[0]
    assert mask[LEND] == 0 and mask[INVEST] == 0 and mask[DIVEST] == 1 and mask[HOLD] == 1
    # a masked LEND sent anyway is executed as HOLD and reported
    _, _, _, _, infos = env.step({"bank_0": LEND, "bank_1": HOLD})
    assert infos["bank_0"]["invalid_action"] == 1 and infos["bank_0"]["action"] == HOLD


def test_injected_liquidity_is_a_loan_not_capital():
    env = _env()
    s = env.system
    data = env.central_bank("inject", "bank_0", 15.0)
    snapshot = data.pop("snapshot")  # the bank's sheet after it: its cash and central bank loan up, its equity not
    assert data == {"operation": "inject", "bank": "bank_0", "amount": 15.0, "rate": s.lending_rate, "value": None, "source": "user"}
    assert snapshot["cash"] == s.cash[0] and snapshot["central_bank_loans"] == s.cb_loans[0] == pytest.approx(15)
    assert snapshot["equity"] == pytest.approx(10) and snapshot["id"] == "bank_0"
    assert s.cash[0] == pytest.approx(35) and s.cb_loans[0] == pytest.approx(15)
    assert s.equity()[0] == pytest.approx(10)
    assert s.collateral_capacity()[0] == pytest.approx(54 - 15)
    assert [e["type"] for e in env.drain_events()] == ["central_bank"]


def test_policy_rate_moves_the_corridor_and_interbank_quotes():
    env = _env()
    s = env.system
    before = s.quote().copy()
    env.central_bank("set_policy_rate", amount=0.03)
    assert (s.deposit_facility_rate, s.policy_rate, s.lending_rate) == pytest.approx((0.02, 0.03, 0.04))
    np.testing.assert_allclose(s.quote() - before, 0.01)  # the corridor moved up 1%: the market rate with it


@pytest.mark.parametrize("operation, bank, amount, error", [
    ("inject", "bank_0", -1.0, ValueError), ("inject", "bank_0", float("inf"), ValueError),
    ("inject", "bank_9", 1.0, KeyError), ("set_policy_rate", None, 1.5, ValueError),
    ("set_capital_requirement", None, -0.1, ValueError), ("print_money", None, 1.0, ValueError),
])
def test_bad_interventions_change_nothing(operation, bank, amount, error):
    env = _env()
    s = env.system
    before = (s.cash.copy(), s.cb_loans.copy(), s.policy_rate, s.min_capital_ratio)
    with pytest.raises(error):
        env.central_bank(operation, bank, amount)
    assert np.array_equal(before[0], s.cash) and np.array_equal(before[1], s.cb_loans)
    assert before[2:] == (s.policy_rate, s.min_capital_ratio)
    assert env.drain_events() == []


def test_borrow_calls_loans_back_now():
    env = _env(network={"type": "explicit", "edges": [[0, 1, 8]]})
    s = env.system
    assert env.action_mask_array()[0, BORROW] == 1
    cash0, rate = s.cash.copy(), s.ledger.rate[0]
    env.step({"bank_0": BORROW, "bank_1": HOLD})
    # call_fraction 0.5 of 8 plus one step of interest; the rest rolls over
    owed = 8 * (1 + rate / 52)
    assert s.ledger.amount.sum() == pytest.approx(owed / 2)
    # the lender's cash also moves by a week of book income, deposit interest and costs (< 0.1)
    assert s.cash[0] - cash0[0] == pytest.approx(owed / 2, abs=0.1)


def test_invest_is_masked_when_the_trade_would_breach_the_liquidity_coverage_ratio():
    # one bank, capital 10 at leverage 10: book 90 (RWA 90, capital ratio 11%), cash 10, deposits 90.
    # LCR = 10 / (10% x 90) = 1.11. INVEST moves invest_fraction x (0.5 + 0.5) of the spare cash:
    # at 0.5 that is 5, leaving HQLA 5 + 50% x 5 = 7.5 over outflows 9: LCR 0.83 < 1, masked (the
    # capital ratio would still be 10 / (90 + 2.5 x 5) = 9.8% >= 8%); at 0.2 it is 2: LCR 9 / 9 = 1, allowed
    bank = {"capital": 10, "target_leverage": 10, "risk": 0.5}
    base = {**ONE, "banks": [bank], "balance_sheet": {"market_share": 0.0, "book_share": 0.9},
            "regulation": {"reserve_requirement": 0.0}}
    s = parallel_env({**base, "actions": {"invest_fraction": 0.5}}).system
    s.reset(seed=0)
    assert s.liquidity_coverage()[0] == pytest.approx(10 / 9) and s.capital_ratio()[0] == pytest.approx(10 / 90)
    assert not s.action_mask()[0, INVEST]
    s = parallel_env({**base, "actions": {"invest_fraction": 0.2}}).system
    s.reset(seed=0)
    assert s.action_mask()[0, INVEST]
    s.step(np.array([INVEST]))
    assert s.liquidity_coverage()[0] >= 1.0 - 1e-9  # and the trade left it at the minimum, not below



def test_intermediation_capacity_by_hand_keeps_both_minimums():
    from interbank.sim import regulation

    env = _env()
    s = env.system
    assert s.intermediation_capacity()[0] == pytest.approx(75.0)
    reg = s.config.regulation
    a = 75.0
    cr = regulation.capital_ratio(np.array([10.0]), np.array([20.0]), np.array([a]), np.array([70.0]),
                                  np.array([10.0]), reg.risk_weights)
    lcr = regulation.liquidity_coverage(np.array([20.0]), np.array([10.0]), np.array([90.0]), np.array([a]),
                                        np.array([0.0]), np.array([a]), reg)
    assert cr[0] == pytest.approx(0.08) and lcr[0] == pytest.approx(25 / 21)


def test_ratio_divides_where_the_denominator_is_positive_and_fills_elsewhere():
    from interbank.sim.regulation import ratio

    num, den = np.array([1.0, 2.0, 3.0, 4.0]), np.array([2.0, 0.0, -1.0, np.nan])
    assert ratio(num, den, 7.0).tolist() == [0.5, 7.0, 7.0, 7.0]
    positive = np.array([3.0, 0.1, 1e-300])
    assert ratio(num[:3], positive, 7.0).tobytes() == (num[:3] / positive).tobytes()

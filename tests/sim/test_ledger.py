"""The loan ledger: double entry, compaction, and merging same-step vintages exactly."""

import numpy as np
import pytest

from interbank.sim.ledger import Ledger


def _ledger():
    # 0 -> 1 twice due at step 5 (2% on 10, 3% on 30), 0 -> 1 due at step 6, 2 -> 1 due at step 5
    return Ledger(np.array([0, 0, 0, 2]), np.array([1, 1, 1, 1]), np.array([10.0, 30.0, 5.0, 7.0]),
                  np.array([0.02, 0.03, 0.04, 0.05]), np.array([5, 5, 6, 5]))


def test_loans_out_equal_borrowings():
    led = _ledger()
    assert led.loans_out(3).tolist() == [45.0, 0.0, 7.0] and led.borrowings(3).tolist() == [0.0, 52.0, 0.0]


def test_same_step_vintages_of_a_pair_merge_into_one_at_the_volume_weighted_rate():
    led = _ledger()
    interest = float((led.amount * led.rate).sum())
    led.merge_due(5)
    led.compact()
    got = sorted(zip(led.lender.tolist(), led.borrower.tolist(), led.due.tolist(), led.amount.tolist(), led.rate.tolist()))
    assert [g[:3] for g in got] == [(0, 1, 5), (0, 1, 6), (2, 1, 5)]
    assert [g[3] for g in got] == pytest.approx([40.0, 5.0, 7.0])
    assert [g[4] for g in got] == pytest.approx([(10 * 0.02 + 30 * 0.03) / 40, 0.04, 0.05])
    assert float((led.amount * led.rate).sum()) == pytest.approx(interest)  # the same interest accrues
    assert led.loans_out(3).tolist() == [45.0, 0.0, 7.0]  # and the same totals


def test_pairs_sum_their_records_and_compact_drops_repaid_ones():
    led = _ledger()
    led.amount[2] = 0.0
    led.compact()
    assert len(led) == 3
    lender, borrower, amount = led.pairs()
    assert list(zip(lender.tolist(), borrower.tolist(), amount.tolist())) == [(0, 1, 40.0), (2, 1, 7.0)]


def test_add_appends_new_loans_and_merge_due_returns_the_pairs_dealt_that_step():
    """A new loan 2 -> 1 of 3 at 6% due at step 5 joins the 2 -> 1 loan of 7 at 5% due then: one
    record of 10 at (7 x 5% + 3 x 6%) / 10; the pairs dealt at step 5 are 0 -> 1 and 2 -> 1, as
    keys lender x n + borrower (n = 3): 1 and 7."""
    led = _ledger()
    led.add(np.array([2]), np.array([1]), np.array([3.0]), np.array([0.06]), 5)
    assert len(led) == 5 and led.due.tolist()[-1] == 5
    dealt = led.merge_due(5, 3)
    led.compact()
    assert dealt.tolist() == [1, 7]
    (i,) = np.flatnonzero((led.lender == 2) & (led.due == 5))
    assert led.amount[i] == pytest.approx(10.0) and led.rate[i] == pytest.approx((7 * 0.05 + 3 * 0.06) / 10)
    assert led.borrowings(3).tolist() == pytest.approx([0.0, 55.0, 0.0])


def test_run_starts_marks_where_each_run_of_equal_values_starts():
    from interbank.sim.ledger import run_starts

    x = np.array([3, 3, 4, 7, 7, 7, 9])
    assert run_starts(x).tolist() == np.r_[True, x[1:] != x[:-1]].tolist()
    assert run_starts(np.array([5.0])).tolist() == [True]
    assert run_starts(np.zeros(0, np.int64)).tolist() == []


def _random_ledger(rng: np.random.Generator, size: int, n: int, due: int) -> Ledger:
    """Records between ``n`` banks, some at 0 (repaid), some due at ``due`` (a pair may hold several)."""
    amount = rng.uniform(0.0, 10.0, size)
    amount[rng.random(size) < 0.2] = 0.0
    return Ledger(rng.integers(0, n, size), rng.integers(0, n, size), amount, rng.uniform(0.01, 0.05, size),
                  rng.integers(due - 2, due + 2, size))


@pytest.mark.parametrize("seed", range(20))
def test_deal_is_add_merge_due_and_compact_to_the_last_bit(seed):
    """``deal`` (the funding market's one pass) leaves the ledger ``add`` + ``merge_due`` + ``compact``
    leave, record for record and bit for bit, and returns the same pairs dealt."""
    rng = np.random.default_rng(seed)
    n, due = 6, 10
    size, new = int(rng.integers(0, 30)), int(rng.integers(0, 8))
    lender, borrower = rng.integers(0, n, new), rng.integers(0, n, new)
    amount, rate = rng.uniform(0.1, 5.0, new), rng.uniform(0.01, 0.05, new)
    expected = _random_ledger(np.random.default_rng(seed), size, n, due)
    expected.add(lender, borrower, amount, rate, due)
    dealt_expected = expected.merge_due(due, n)
    expected.compact()
    got = _random_ledger(np.random.default_rng(seed), size, n, due)
    dealt = got.deal(lender, borrower, amount, rate, due, n)
    assert dealt.tobytes() == dealt_expected.tobytes()
    for column in ("lender", "borrower", "amount", "rate", "due"):
        a, b = getattr(got, column), getattr(expected, column)
        assert a.dtype == b.dtype and a.tobytes() == b.tobytes(), column
    assert (got.amount > 0).all()

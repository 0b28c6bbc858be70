"""DebtRank on small hand-computed networks."""

import numpy as np
import pytest

from interbank.sim.debtrank import debtrank, impact_matrix


def test_chain_hand_computed():
    # A (0) lent 5 to B (1); B lent 20 to C (2). Equity 10, 10, 20 -> weights 1/4, 1/4, 1/2.
    # W[A, B] = 5/10 = 0.5; W[B, C] = min(1, 20/10) = 1 (capped).
    # shock C: h_B = 1, then h_A = 0.5 -> R = 0.5/4 + 1/4 = 0.375
    # shock B: h_A = 0.5 -> R = 0.125; shock A: nobody is exposed to A -> 0
    dr = debtrank(np.array([0, 1]), np.array([1, 2]), np.array([5.0, 20.0]), np.array([10.0, 10.0, 20.0]))
    np.testing.assert_allclose(dr, [0.0, 0.125, 0.375])
    w = impact_matrix(np.array([0, 1]), np.array([1, 2]), np.array([5.0, 20.0]), np.array([10.0, 10.0, 20.0])).toarray()
    assert w[1, 2] == 1.0 and w[0, 1] == 0.5


def test_distress_is_capped_at_one():
    # A (0) lent 8 to B (1) and 8 to C (2), equity 10 each: W = 0.8 each.
    # shocking B and C together would give A 1.6: capped at 1 -> R = (1 + 1 + 1)/3 - 2/3 = 1/3
    lender, borrower, amount = np.array([0, 0]), np.array([1, 2]), np.array([8.0, 8.0])
    eq = np.array([10.0, 10.0, 10.0])
    (r,) = debtrank(lender, borrower, amount, eq, shocked=[[1, 2]])
    assert r == pytest.approx(1 / 3)
    np.testing.assert_allclose(debtrank(lender, borrower, amount, eq), [0.0, 0.8 / 3, 0.8 / 3])


def test_each_bank_passes_distress_on_only_once():
    # a cycle A <-> B with full impact: without the once-only rule distress would loop forever
    dr = debtrank(np.array([0, 1]), np.array([1, 0]), np.array([50.0, 50.0]), np.array([10.0, 10.0]))
    np.testing.assert_allclose(dr, [0.5, 0.5])

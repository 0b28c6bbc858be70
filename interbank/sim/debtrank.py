"""DebtRank (Battiston, Puliga, Kaushik, Tasca & Caldarelli 2012, Sci. Rep. 2:541).

Impact of borrower j's distress on lender i: W[i, j] = min(1, A[i, j] / E[i]),
where A[i, j] is what j owes i and E[i] is i's equity. Distress h starts at 1 on
the shocked banks; each distressed bank passes its distress on once (states
Undistressed -> Distressed -> Inactive):

    h_i(t) = min(1, h_i(t-1) + sum_{j distressed at t-1} W[i, j] h_j(t-1))

DebtRank of a shock = sum_i h_i(T) v_i - sum_i h_i(1) v_i, with v the economic
weights (here each bank's share of total equity). A bank whose distress would
exceed 1 is capped at 1.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def impact_matrix(lender: np.ndarray, borrower: np.ndarray, amount: np.ndarray, equity: np.ndarray) -> sp.csr_matrix:
    """W[i, j] = min(1, claims of i on j / equity of i); banks with equity <= 0 get impact 1."""
    n = equity.shape[0]
    keep = amount > 0
    a = sp.csr_matrix((amount[keep], (lender[keep], borrower[keep])), shape=(n, n))
    a.sum_duplicates()
    rows = np.repeat(np.arange(n), np.diff(a.indptr))
    eq = equity[rows]
    a.data = np.where(eq > 0, np.minimum(1.0, a.data / np.where(eq > 0, eq, 1.0)), 1.0)
    return a


def debtrank(
    lender: np.ndarray, borrower: np.ndarray, amount: np.ndarray, equity: np.ndarray,
    weights: np.ndarray | None = None, shocked: list[list[int]] | None = None,
) -> np.ndarray:
    """DebtRank of each shock. ``shocked`` is a list of sets of banks (default: each bank
    alone, giving every bank's systemic importance). Returns float[len(shocked)]."""
    n = equity.shape[0]
    if n == 0:
        return np.zeros(0)
    eq = np.asarray(equity, dtype=np.float64)
    v = np.maximum(eq, 0.0) if weights is None else np.asarray(weights, dtype=np.float64)
    v = v / v.sum() if v.sum() > 0 else np.full(n, 1.0 / n)
    w = impact_matrix(np.asarray(lender), np.asarray(borrower), np.asarray(amount, dtype=np.float64), eq)
    starts = [[k] for k in range(n)] if shocked is None else shocked
    s = len(starts)
    h = np.zeros((s, n))
    for row, banks in enumerate(starts):
        h[row, banks] = 1.0
    h1 = h.copy()
    distressed = h > 0
    inactive = np.zeros_like(distressed)
    wt = w.T.tocsr()
    for _ in range(n + 1):
        if not distressed.any():
            break
        push = np.where(distressed, h, 0.0)
        new_h = np.minimum(1.0, h + np.asarray(push @ wt))  # h_i += sum_j W[i, j] h_j
        inactive |= distressed
        distressed = (new_h > 0) & ~inactive
        h = new_h
    return h @ v - h1 @ v

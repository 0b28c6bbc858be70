"""The interbank funding market: requests matched to LEND supply, priced by risk.

Notation (per bank i, dollars): ``request[i]`` what a bank short of its reserve
requirement asks for; ``supply[i]`` what a LEND-ing bank offers out of cash
above its own requirement. A bank never both requests and supplies.

Matching rule (vectorised: bincount, sort, cumsum, searchsorted; no loop over banks):

1. **Existing counterparties first.** For every pair (j -> i) that already has
   a loan outstanding, with j supplying and i requesting, lender j splits its
   supply over its requesting borrowers in proportion to their requests;
   borrower i accepts at most its request, scaling its offers down pro rata.
2. **Then new counterparties.** The remaining supply and requests are lined up
   -- lenders in ``lender_order``, borrowers safest first (``borrower_order``) --
   and matched by intersecting their cumulative sums: the first lender fills
   the first borrowers until its supply is gone, and so on. Each piece is a new
   loan, so lending creates connections.

Nobody receives more than it requested, and no lender gives more than it offered.
Pricing (annual rates). The market rate is set by scarcity inside the central
bank's corridor (Poole 1968; Bindseil 2014, ch. 3-4; Whitesell 2006): with
``D`` the requests and ``S`` the LEND supply of the step,

    market_rate = floor + (ceiling - floor) * D / (D + S)

from the deposit facility (``floor``: nobody short, a lender's alternative is
the facility) through the policy rate (D = S in a symmetric corridor) to the
lending facility (``ceiling``: nobody supplies). A borrower pays the market
rate plus ``min(spread_per_leverage * leverage, max_spread)`` (its leverage is
what a lender sees of its risk; Castillo's model prices pairwise loans from the
borrower's leverage the same way), and never more than the ceiling: a borrower
with collateral would go to the lending facility instead.
"""

from __future__ import annotations

import numpy as np

_EPS = 1e-12


def market_rate(requested: float, supplied: float, floor: float, ceiling: float) -> float:
    """The annual market rate for the scarcity of the step: ``floor + (ceiling - floor) * D / (D + S)``
    (the floor when nobody asks)."""
    total = requested + supplied
    return floor + (ceiling - floor) * (requested / total if total > 0 else 0.0)


def quote(leverage: np.ndarray, market: float, spread_per_leverage: float, max_spread: float,
          ceiling: float) -> np.ndarray:
    """Annual interbank rate for borrowers of the given leverage (inf or <= 0 leverage: the spread cap),
    ``market`` + the borrower's spread, never above ``ceiling``."""
    ok = np.isfinite(leverage) & (leverage > 0)
    spread = np.where(ok, spread_per_leverage * np.where(ok, leverage, 0.0), max_spread)
    return np.minimum(market + np.minimum(spread, max_spread), max(ceiling, market))


def match(
    request: np.ndarray, supply: np.ndarray, loan_lender: np.ndarray, loan_borrower: np.ndarray,
    lender_order: np.ndarray, borrower_risk: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """New loans (lender, borrower, amount) matching ``supply`` to ``request``.

    ``loan_lender``/``loan_borrower``: outstanding loan records (pairs may repeat);
    ``lender_order``: the order in which step 2 lines up lenders (a permutation of
    the banks); ``borrower_risk``: per bank, lower is served first in step 2 (ties
    by index).
    """
    n = request.shape[0]
    req = np.where(request > _EPS, request, 0.0)
    sup = np.where((supply > _EPS) & (req == 0), supply, 0.0)
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []

    # 1. existing counterparties
    hit = (sup[loan_lender] > 0) & (req[loan_borrower] > 0)
    if hit.any():
        key = np.unique(loan_lender[hit] * n + loan_borrower[hit])
        lo, bo = key // n, key % n
        asked = np.bincount(lo, weights=req[bo], minlength=n)
        offer = sup[lo] * req[bo] / asked[lo]
        offered = np.bincount(bo, weights=offer, minlength=n)
        take = offer * np.minimum(1.0, req[bo] / offered[bo])
        parts.append((lo, bo, take))
        sup = sup - np.bincount(lo, weights=take, minlength=n)
        req = req - np.bincount(bo, weights=take, minlength=n)
        sup[sup < _EPS * np.maximum(1.0, supply)] = 0.0
        req[req < _EPS * np.maximum(1.0, request)] = 0.0

    # 2. new counterparties: intersect cumulative supply and demand
    lenders = lender_order[sup[lender_order] > 0]
    asking = np.flatnonzero(req > 0)
    borrowers = asking[np.argsort(borrower_risk[asking], kind="stable")]
    if lenders.size and borrowers.size:
        cs, cr = np.cumsum(sup[lenders]), np.cumsum(req[borrowers])
        total = min(cs[-1], cr[-1])
        cuts = np.unique(np.concatenate([[0.0], cs[cs < total], cr[cr < total], [total]]))
        size = np.diff(cuts)
        mid = cuts[:-1] + 0.5 * size
        keep = size > _EPS * max(1.0, total)
        li = np.minimum(np.searchsorted(cs, mid[keep], side="right"), lenders.size - 1)
        bi = np.minimum(np.searchsorted(cr, mid[keep], side="right"), borrowers.size - 1)
        parts.append((lenders[li], borrowers[bi], size[keep]))

    if not parts:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
    lender, borrower, amount = (np.concatenate(x) for x in zip(*parts))
    keep = amount > 0
    return lender[keep], borrower[keep], amount[keep]

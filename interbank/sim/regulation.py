"""Regulatory ratios (Basel III, standardised approach; see ``RegulationConfig``).

- capital ratio = equity / risk-weighted assets, RWA = sum of weight x exposure
  over cash, interbank loans out, the loan book and market positions;
- liquidity coverage ratio (LCR) = high-quality liquid assets / net outflows over
  the stress horizon: HQLA = cash + (1 - haircut) x market positions (listed
  equities are Level 2B, 50% haircut); outflows = run-off x deposits + all
  interbank and central bank borrowing (short-term wholesale funding runs off
  100%); inflows = loans out, capped at ``lcr_inflow_cap`` of outflows;
- reserve requirement = ``reserve_requirement`` x deposits, held in cash.
"""

from __future__ import annotations

import numpy as np

CAP = 1e6  # a ratio with a zero denominator (no risk, no outflows) reads as this


def capital_ratio(equity: np.ndarray, cash: np.ndarray, loans_out: np.ndarray, book: np.ndarray,
                  investments: np.ndarray, weights) -> np.ndarray:
    rwa = weights.cash * np.maximum(cash, 0.0) + weights.interbank * loans_out + weights.book * book + weights.markets * investments
    return np.divide(equity, rwa, out=np.full(equity.shape, CAP), where=rwa > 0)


def liquidity_coverage(cash: np.ndarray, investments: np.ndarray, deposits: np.ndarray, borrowings: np.ndarray,
                       central_bank: np.ndarray, loans_out: np.ndarray, cfg) -> np.ndarray:
    hqla = np.maximum(cash, 0.0) + (1.0 - cfg.lcr_market_haircut) * investments
    outflow = cfg.lcr_deposit_runoff * deposits + borrowings + central_bank
    net = outflow - np.minimum(loans_out, cfg.lcr_inflow_cap * outflow)
    return np.divide(hqla, net, out=np.full(cash.shape, CAP), where=net > 0)

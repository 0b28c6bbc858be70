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


def ratio(num: np.ndarray, den: np.ndarray, fill: float) -> np.ndarray:
    """``num / den`` where ``den > 0`` and ``fill`` elsewhere (NaN included): the values of
    ``np.divide(num, den, out=np.full(den.shape, fill), where=den > 0)``, by a plain division when
    every denominator is positive (the masked division costs about twice as much)."""
    positive = den > 0
    with np.errstate(over="ignore"):  # a denominator next to 0 (subnormal): the quotient is inf, above any floor
        if positive.all():
            return num / den
        return np.divide(num, den, out=np.full(den.shape, fill), where=positive)


def at_least(num: np.ndarray, den: np.ndarray, fill: float, floor: float) -> np.ndarray:
    """bool[n]: ``ratio(num, den, fill) >= floor``, from a plain division of every entry: where
    ``den`` is not positive (NaN included) the quotient is left unused and ``fill`` is compared
    instead (about half the cost of ``ratio``'s masked division and its check for the case)."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):  # x / 0 and 0 / 0 land where ``fill`` rules
        ok = num / den >= floor
    if fill >= floor:
        ok |= ~(den > 0)
    else:
        ok &= den > 0
    return ok


def risk_weighted_assets(cash: np.ndarray, loans_out: np.ndarray, book: np.ndarray, investments: np.ndarray,
                         weights) -> np.ndarray:
    return weights.cash * np.maximum(cash, 0.0) + weights.interbank * loans_out + weights.book * book + weights.markets * investments


def capital_ratio(equity: np.ndarray, cash: np.ndarray, loans_out: np.ndarray, book: np.ndarray,
                  investments: np.ndarray, weights) -> np.ndarray:
    rwa = risk_weighted_assets(cash, loans_out, book, investments, weights)
    return ratio(equity, rwa, CAP)


def liquid_assets(cash: np.ndarray, investments: np.ndarray, cfg) -> np.ndarray:
    """HQLA: cash plus market positions after the Level 2B haircut."""
    return np.maximum(cash, 0.0) + (1.0 - cfg.lcr_market_haircut) * investments


def outflows(deposits: np.ndarray, borrowings: np.ndarray, central_bank: np.ndarray, cfg) -> np.ndarray:
    """Stressed outflows before inflows: deposit run-off and all wholesale borrowing."""
    return cfg.lcr_deposit_runoff * deposits + borrowings + central_bank


def liquidity_coverage(cash: np.ndarray, investments: np.ndarray, deposits: np.ndarray, borrowings: np.ndarray,
                       central_bank: np.ndarray, loans_out: np.ndarray, cfg) -> np.ndarray:
    hqla = liquid_assets(cash, investments, cfg)
    outflow = outflows(deposits, borrowings, central_bank, cfg)
    net = outflow - np.minimum(loans_out, cfg.lcr_inflow_cap * outflow)
    return ratio(hqla, net, CAP)


def intermediation_capacity(equity: np.ndarray, rwa: np.ndarray, hqla: np.ndarray, outflow: np.ndarray,
                            min_capital_ratio: float, cfg) -> np.ndarray:
    """Dollars a bank can both borrow and lend on (a dealer's two legs) and stay above both minimums.

    Capital: the loan out adds ``weights.interbank`` x a to the RWA, so a <= (equity /
    min_capital_ratio - RWA) / weights.interbank. Liquidity: the borrowing adds a to the
    outflows and the loan at most ``lcr_inflow_cap`` x a to the capped inflows, so, counting the
    inflows at their cap (the worst case), a <= HQLA / (min_lcr x (1 - cap)) - outflows.
    """
    w = cfg.risk_weights.interbank
    by_capital = (np.maximum(equity / min_capital_ratio - rwa, 0.0) / w if w > 0 and min_capital_ratio > 0
                  else np.full(equity.shape, np.inf))
    short = 1.0 - cfg.lcr_inflow_cap
    by_liquidity = (np.maximum(hqla / (cfg.min_lcr * short) - outflow, 0.0) if cfg.min_lcr > 0 and short > 0
                    else np.full(equity.shape, np.inf))
    return np.where(equity > 0, np.minimum(by_capital, by_liquidity), 0.0)

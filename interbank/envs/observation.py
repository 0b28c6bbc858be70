"""The per-bank observation: a fixed-size float32 vector, independent of the number of banks.

``FEATURES`` is the single source of truth for the layout: the env card's
table, plots and tests all read it. Ratios are to the bank's current assets
unless stated; gone banks observe zeros.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from interbank.sim.actions import PRIORITIES

if TYPE_CHECKING:
    from interbank.sim.system import BankingSystem

# (name, unit / scale)
BASE_FEATURES: tuple[tuple[str, str], ...] = (
    ("cash_ratio", "cash / assets, [0, 1]"),
    ("loans_out_ratio", "interbank loans out / assets, [0, 1]"),
    ("investment_ratio", "market positions (marked to market) / assets, [0, 1]"),
    ("borrowings_ratio", "interbank borrowings / assets, [0, 1]"),
    ("deposits_ratio", "deposits / assets, [0, 1]"),
    ("equity_ratio", "equity / assets, [0, 1] while solvent"),
    ("leverage_gap", "leverage / target leverage - 1, clipped to [-1, 5]"),
    ("capital_growth", "log(equity / initial capital), clipped to [-5, 5]"),
    ("risk", "risk factor, [0, 1]"),
    ("neighbour_defaults", "fraction of the bank's counterparties that are gone, [0, 1]"),
    ("shortfall_ratio", "calls and withdrawals left unpaid last step / assets, clipped to [0, 1]"),
    ("bank_index_return", "BANK_INDEX price / initial price - 1, clipped to [-1, 5]"),
    ("fin_services_return", "FIN_SERVICES price / initial price - 1, clipped to [-1, 5]"),
    ("bank_index_momentum", "BANK_INDEX return over the last 5 steps, clipped to [-1, 5]"),
    ("fin_services_momentum", "FIN_SERVICES return over the last 5 steps, clipped to [-1, 5]"),
    ("system_default_fraction", "fraction of all banks that are gone, [0, 1]"),
    ("time_left", "1 - step / max_steps, [0, 1]"),
)
PRIORITY_FEATURES: tuple[tuple[str, str], ...] = tuple(
    (f"priority_{p.lower()}", f"1 if the priority in force is {p}, else 0") for p in PRIORITIES
)
FEATURES: tuple[tuple[str, str], ...] = BASE_FEATURES + PRIORITY_FEATURES
FEATURE_NAMES: tuple[str, ...] = tuple(name for name, _ in FEATURES)
FEATURE_INDEX: dict[str, int] = {name: i for i, name in enumerate(FEATURE_NAMES)}
N_BASE = len(BASE_FEATURES)
N_FEATURES = len(FEATURES)
LOW = np.array([0, 0, 0, 0, 0, -1, -1, -5, 0, 0, 0, -1, -1, -1, -1, 0, 0, 0, 0, 0], dtype=np.float32)
HIGH = np.array([1, 1, 1, 1, 1, 1, 5, 5, 1, 1, 1, 5, 5, 5, 5, 1, 1, 1, 1, 1], dtype=np.float32)


def base_features(system: "BankingSystem", shortfall: np.ndarray | None = None) -> np.ndarray:
    """float64[n_banks, N_BASE] of every bank's features (rows of gone banks are zero)."""
    n = system.n
    bs = system.balance_sheet()
    assets = bs["assets"]
    safe = np.where(assets > 0, assets, 1.0)
    out = np.empty((n, N_BASE))
    out[:, 0] = bs["cash"] / safe
    out[:, 1] = bs["loans_out"] / safe
    out[:, 2] = system.investment_total() / safe
    out[:, 3] = bs["borrowings"] / safe
    out[:, 4] = bs["deposits"] / safe
    eq = bs["equity"]
    out[:, 5] = eq / safe
    lev = np.divide(assets, eq, out=np.full(n, np.inf), where=eq > 0)
    out[:, 6] = lev / system.target_leverage - 1.0
    out[:, 7] = np.log(np.maximum(eq, 1e-12) / system.capital0)
    out[:, 8] = system.risk
    out[:, 9] = system.neighbour_default_fraction
    out[:, 10] = 0.0 if shortfall is None else shortfall / safe
    ret = system.price / system.price0 - 1.0
    mom = system.momentum()
    out[:, 11] = ret[0]
    out[:, 12] = ret[1]
    out[:, 13] = mom[0]
    out[:, 14] = mom[1]
    out[:, 15] = 1.0 - system.active.mean() if n else 0.0
    out[:, 16] = max(0.0, 1.0 - system.t / max(system.max_steps, 1))
    np.clip(out, LOW[:N_BASE], HIGH[:N_BASE], out=out)
    out[~system.active] = 0.0
    return out


def with_priority(base: np.ndarray, priority: np.ndarray) -> np.ndarray:
    """Append the priority one-hot: float32[n_banks, N_FEATURES]."""
    obs = np.zeros((base.shape[0], N_FEATURES), dtype=np.float32)
    obs[:, :N_BASE] = base
    obs[np.arange(base.shape[0]), N_BASE + priority] = 1.0
    return obs

"""The per-bank observation: a fixed-size float32 vector, independent of the number of banks
and of the number of markets.

``FEATURES`` is the single source of truth for the layout: the env card's
table, plots, policies and tests all read it. The names are public and stable;
changing them is a version bump of the env. Ratios are to the bank's current
assets unless stated; gone banks observe zeros.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

import numpy as np

from interbank.sim import funding
from interbank.sim.actions import PRIORITIES

if TYPE_CHECKING:
    from interbank.sim.system import BankingSystem

# (name, unit / scale, low, high)
_BASE: tuple[tuple[str, str, float, float], ...] = (
    ("cash_ratio", "cash / assets, [0, 1]", 0, 1),
    ("book_ratio", "real-economy loan book / assets, [0, 1]", 0, 1),
    ("loans_out_ratio", "interbank loans out / assets, [0, 1]", 0, 1),
    ("investment_ratio", "market positions (marked to market) / assets, [0, 1]", 0, 1),
    ("borrowings_ratio", "interbank borrowings / assets, [0, 1]", 0, 1),
    ("deposits_ratio", "deposits / assets, [0, 1]", 0, 1),
    ("central_bank_ratio", "central bank loans / assets, [0, 1]", 0, 1),
    ("equity_ratio", "equity / assets, [-1, 1]", -1, 1),
    ("capital_buffer", "capital ratio / regulatory minimum - 1, clipped to [-1, 5]", -1, 5),
    ("liquidity_buffer", "liquidity coverage ratio / minimum - 1, clipped to [-1, 5]", -1, 5),
    ("reserve_buffer", "(cash - required reserves) / assets, clipped to [-1, 1]", -1, 1),
    ("capital_growth", "log(equity / initial capital), clipped to [-5, 5]", -5, 5),
    ("risk", "risk factor, [0, 1]", 0, 1),
    ("funding_spread", "the bank's own interbank rate over the deposit facility rate (annual) x 10, [0, 5]", 0, 5),
    ("unmet_funding", "funding requested last step and not met by the market / assets, clipped to [0, 1]", 0, 1),
    ("shortfall_ratio", "obligations beyond cash and funding last step (fire sales, facility) / assets, [0, 1]", 0, 1),
    ("counterparty_losses", "interbank losses from defaulted borrowers so far / initial capital, clipped to [0, 5]", 0, 5),
    ("market_return", "mean over markets of price / initial price - 1, clipped to [-1, 5]", -1, 5),
    ("market_momentum", "mean over markets of the return over the last 5 steps, clipped to [-1, 5]", -1, 5),
    ("market_momentum_spread", "best minus worst market momentum, clipped to [0, 5]", 0, 5),
    ("funding_demand", "all banks' funding requests last step / their supply + requests, [0, 1]", 0, 1),
    ("policy_rate", "central bank policy rate (annual) x 10, [0, 5]", 0, 5),
    ("system_default_fraction", "fraction of all banks that are gone, [0, 1]", 0, 1),
    ("time_left", "1 - step / max_steps, [0, 1]", 0, 1),
)
BASE_FEATURES: tuple[tuple[str, str], ...] = tuple((name, unit) for name, unit, _, _ in _BASE)
PRIORITY_FEATURES: tuple[tuple[str, str], ...] = tuple(
    (f"priority_{p.lower()}", f"1 if the priority in force is {p}, else 0") for p in PRIORITIES
)
FEATURES: tuple[tuple[str, str], ...] = BASE_FEATURES + PRIORITY_FEATURES
FEATURE_NAMES: tuple[str, ...] = tuple(name for name, _ in FEATURES)
FEATURE_INDEX: dict[str, int] = {name: i for i, name in enumerate(FEATURE_NAMES)}
N_BASE = len(BASE_FEATURES)


def feature_range(name: str) -> tuple[float, float]:
    """(low, high) of a base feature, from the table above: what a rule's threshold on it can
    meaningfully be (``register_policy``'s ``bounds``)."""
    at = BASE_INDEX.get(name)
    if at is None:
        raise KeyError(f"no base feature {name!r}")
    _, _, low, high = _BASE[at]
    return float(low), float(high)


BASE_INDEX: dict[str, int] = {name: i for i, (name, _) in enumerate(BASE_FEATURES)}
"""Column of each base feature in ``base_features``' output (the same as in ``FEATURE_INDEX``)."""
N_FEATURES = len(FEATURES)
LOW = np.array([lo for _, _, lo, _ in _BASE] + [0] * len(PRIORITIES), dtype=np.float32)
HIGH = np.array([hi for _, _, _, hi in _BASE] + [1] * len(PRIORITIES), dtype=np.float32)
_BASE_LOW, _BASE_HIGH = LOW[:N_BASE].astype(np.float64), HIGH[:N_BASE].astype(np.float64)
"""The base features' bounds as float64 (exact): clipping float64 features to float32 bounds casts them every call."""


def base_features(system: "BankingSystem", shortfall: np.ndarray | None = None) -> np.ndarray:
    """float64[n_banks, N_BASE] of every bank's features (rows of gone banks are zero), each
    written by its name in the feature table (``_BASE``), clipped to its bounds."""
    s = system
    st = s.state
    n = s.n
    bs = s.balance_sheet()
    cash, eq = bs["cash"], bs["equity"]
    assets = bs["assets"]
    f = st.funding
    ret = st.price / st.price0 - 1.0
    mom = s.momentum()
    m = ret.shape[0]
    capital0 = st.capital0
    live = np.count_nonzero(st.active)
    over_assets: dict[str, np.ndarray] = {  # divided by the assets below
        "cash_ratio": cash,
        "book_ratio": bs["book"],
        "loans_out_ratio": bs["loans_out"],
        "investment_ratio": bs["investments"].sum(axis=1),
        "borrowings_ratio": bs["borrowings"],
        "deposits_ratio": bs["deposits"],
        "central_bank_ratio": bs["central_bank"],
        "equity_ratio": eq,
        "reserve_buffer": cash - s.required_reserves(),
        "unmet_funding": f["unmet"],
        "shortfall_ratio": np.zeros(n) if shortfall is None else shortfall,
    }
    per_bank: dict[str, np.ndarray] = {
        "capital_buffer": s.capital_ratio() / max(st.min_capital_ratio, 1e-9) - 1.0,
        "liquidity_buffer": s.liquidity_coverage() / max(s.config.regulation.min_lcr, 1e-9) - 1.0,
        "capital_growth": np.log(np.maximum(eq, 1e-12) / capital0),
        "risk": st.risk,
        "funding_spread": 10.0 * (s.quote() - st.deposit_facility_rate),
        "counterparty_losses": st.counterparty_losses / capital0,
    }
    # the same for every bank; a mean is np.mean's arithmetic (the sum over the count), the
    # ufuncs' reduce is what ndarray.sum/max/min call, without their argument handling
    system_wide: dict[str, float] = {
        "market_return": np.add.reduce(ret) / m,
        "market_momentum": np.add.reduce(mom) / m,
        "market_momentum_spread": np.maximum.reduce(mom) - np.minimum.reduce(mom),
        "funding_demand": funding.scarcity(float(np.add.reduce(f["requested"])), f["offered"]),
        "policy_rate": 10.0 * st.policy_rate,
        "system_default_fraction": 1.0 - live / n if n else 0.0,
        "time_left": max(0.0, 1.0 - st.t / max(s.max_steps, 1)),
    }
    bank_cols, system_cols = _layout((*over_assets, *per_bank), tuple(system_wide))
    rows = np.array([*over_assets.values(), *per_bank.values()])  # float64[17, n]
    ratios = rows[:len(over_assets)]
    np.divide(ratios, np.where(assets > 0, assets, 1.0), out=ratios)
    out = np.empty((n, N_BASE))
    out[:, bank_cols] = rows.T
    out[:, system_cols] = list(system_wide.values())
    np.clip(out, _BASE_LOW, _BASE_HIGH, out=out)
    if live < n:
        out[~st.active] = 0.0
    return out


@functools.lru_cache(maxsize=8)
def _layout(*groups: tuple[str, ...]) -> tuple[np.ndarray, ...]:
    """The columns of each group of feature names (``base_features``), checked once: together
    the groups name every feature of the table, each once."""
    names = [name for group in groups for name in group]
    if sorted(names) != sorted(BASE_INDEX):
        raise RuntimeError(f"base_features: columns {sorted(set(names) ^ BASE_INDEX.keys())} "
                           "are in one of the feature table and base_features only, or written twice")
    return tuple(np.array([BASE_INDEX[name] for name in group], dtype=np.intp) for group in groups)


def with_priority(base: np.ndarray, priority: np.ndarray) -> np.ndarray:
    """Append the priority one-hot: float32[n_banks, N_FEATURES]."""
    obs = np.zeros((base.shape[0], N_FEATURES), dtype=np.float32)
    obs[:, :N_BASE] = base
    obs[np.arange(base.shape[0]), N_BASE + priority] = 1.0
    return obs

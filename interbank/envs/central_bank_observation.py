"""What the central bank agent sees: system aggregates, one float32 vector independent of the
number of banks and markets.

``CB_FEATURES`` is the single source of truth for the layout (names, units, bounds): the env
card's table, the rule central banks (``interbank.envs.central_bank_rules``) and the tests read
it. Quantiles and sums are over the banks still open.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from interbank.sim import funding
from interbank.sim.state import HAIRCUT_SCALES

if TYPE_CHECKING:
    from interbank.sim.system import BankingSystem

RATE_SCALE = 10.0  # annual rates are observed x 10 (the card's "x 10")
BUFFER_SCALE = 100.0  # the buffer is observed in percent of RWA

# (name, unit / scale, low, high)
_TABLE: tuple[tuple[str, str, float, float], ...] = (
    ("funding_demand", "all banks' funding requests last step / (their LEND supply + requests), [0, 1]; 0.5: demand equals supply", 0, 1),
    ("interbank_rate", "the market rate of the last funding round (annual) x 10, [0, 5]", 0, 5),
    ("corridor_position", "(interbank rate - deposit rate) / (lending rate - deposit rate), [0, 1]", 0, 1),
    ("policy_rate", "policy rate (annual) x 10, [0, 5]", 0, 5),
    ("ccyb", "countercyclical capital buffer in percent of RWA, [0, 50]", 0, 50),
    ("haircuts", "the facility's haircut setting: -1 tight, 0 normal, 1 wide", -1, 1),
    ("facility_use", "central bank loans / assets of the open banks, [0, 1]", 0, 1),
    ("fire_sales", "fire sales and early book sales last step / initial total equity, clipped to [0, 5]", 0, 5),
    ("default_fraction", "banks defaulted so far / banks, [0, 1]", 0, 1),
    ("capital_ratio_median", "median capital ratio (equity / RWA), clipped to [0, 1]", 0, 1),
    ("capital_ratio_p10", "lowest-decile (10th percentile) capital ratio, clipped to [0, 1]", 0, 1),
    ("lcr_median", "median liquidity coverage ratio, clipped to [0, 5]", 0, 5),
    ("lcr_p10", "lowest-decile liquidity coverage ratio, clipped to [0, 5]", 0, 5),
    ("credit_growth", "credit (loan book + interbank loans) / credit at the last decision - 1, clipped to [-1, 1]", -1, 1),
    ("credit_gap", "credit / credit at reset - 1, clipped to [-1, 1]", -1, 1),
    ("market_return", "mean over markets of price / initial price - 1, clipped to [-1, 5]", -1, 5),
    ("market_last_return", "mean over markets of last step's return, clipped to [-1, 1]", -1, 1),
    ("own_losses", "the central bank's losses so far (minus its net worth: interest paid on reserves - interest earned + credit losses) / initial total equity, clipped to [-5, 5]", -5, 5),
    ("welfare", "social welfare (``BankingSystem.welfare``; 1 at reset), clipped to [-5, 5]", -5, 5),
    ("time_left", "1 - step / max_steps, [0, 1]", 0, 1),
    ("due", "1 if the central bank decides this step (``every``), else 0", 0, 1),
)
CB_FEATURES: tuple[tuple[str, str], ...] = tuple((name, unit) for name, unit, _, _ in _TABLE)
CB_FEATURE_NAMES: tuple[str, ...] = tuple(name for name, _ in CB_FEATURES)
CB_FEATURE_INDEX: dict[str, int] = {name: i for i, name in enumerate(CB_FEATURE_NAMES)}
N_CB_FEATURES = len(CB_FEATURES)
CB_LOW = np.array([lo for _, _, lo, _ in _TABLE], dtype=np.float32)
CB_HIGH = np.array([hi for _, _, _, hi in _TABLE], dtype=np.float32)
_HAIRCUT_LEVEL = {"tight": -1.0, "normal": 0.0, "wide": 1.0}
assert _HAIRCUT_LEVEL.keys() == HAIRCUT_SCALES.keys()


@dataclass
class CentralBankMemory:
    """What the central bank remembers between observations (dollars): ``credit0`` (credit at
    reset), ``credit_decided`` (credit at its last decision), ``sold_before`` (fire and book sales
    so far at the previous observation), ``sold_last`` (those of the last step)."""

    credit0: float
    credit_decided: float
    sold_before: float
    sold_last: float = 0.0


def credit(system: "BankingSystem") -> float:
    """Dollars of credit the open banks extend: the loan book plus interbank loans out."""
    bs = system.balance_sheet()
    live = system.active
    return float(bs["book"][live].sum() + bs["loans_out"][live].sum())


def sales(system: "BankingSystem") -> float:
    """Fire sales and early book sales since reset, dollars."""
    return float(system.fire_sales + system.book_sales)


def central_bank_cost(system: "BankingSystem") -> float:
    """The central bank's losses since reset over initial total equity: minus its net worth
    (``interbank.sim.accounts``: its loans to open banks plus its money position), i.e. the
    interest it paid on reserves, minus the interest its loans earned, plus its credit losses."""
    s = system
    net_worth = float(s.cb_loans[s.active].sum()) + s.accounts.central_bank
    return -net_worth / float(s.capital0.sum())


def new_memory(system: "BankingSystem") -> CentralBankMemory:
    c = credit(system)
    return CentralBankMemory(credit0=c, credit_decided=c, sold_before=sales(system))


def central_bank_features(system: "BankingSystem", memory: CentralBankMemory, due: bool) -> np.ndarray:
    """float32[N_CB_FEATURES], each written by its name in the table, clipped to its bounds."""
    s = system
    live = s.active
    equity0 = float(s.capital0.sum())
    f = s.funding
    bs = s.balance_sheet()
    cr, lcr = s.capital_ratio()[live], s.liquidity_coverage()[live]
    any_live = bool(live.any())
    width = s.lending_rate - s.deposit_facility_rate
    c = credit(s)
    assets = float(bs["assets"][live].sum())
    columns: dict[str, float] = {
        "funding_demand": funding.scarcity(float(f["requested"].sum()), f["offered"]),
        "interbank_rate": RATE_SCALE * s.market_rate,
        "corridor_position": (s.market_rate - s.deposit_facility_rate) / width if width > 0 else 0.0,
        "policy_rate": RATE_SCALE * s.policy_rate,
        "ccyb": BUFFER_SCALE * s.ccyb,
        "haircuts": _HAIRCUT_LEVEL[s.haircuts],
        "facility_use": float(s.cb_loans[live].sum()) / assets if assets > 0 else 0.0,
        "fire_sales": memory.sold_last / equity0,
        "default_fraction": float(s.defaulted.mean()),
        "capital_ratio_median": float(np.median(cr)) if any_live else 0.0,
        "capital_ratio_p10": float(np.quantile(cr, 0.1)) if any_live else 0.0,
        "lcr_median": float(np.median(lcr)) if any_live else 0.0,
        "lcr_p10": float(np.quantile(lcr, 0.1)) if any_live else 0.0,
        "credit_growth": c / memory.credit_decided - 1.0 if memory.credit_decided > 0 else 0.0,
        "credit_gap": c / memory.credit0 - 1.0 if memory.credit0 > 0 else 0.0,
        "market_return": float((s.price / s.price0 - 1.0).mean()),
        "market_last_return": float(s.last_return.mean()),
        "own_losses": central_bank_cost(s),
        "welfare": s.welfare(),
        "time_left": max(0.0, 1.0 - s.t / max(s.max_steps, 1)),
        "due": 1.0 if due else 0.0,
    }
    if columns.keys() != CB_FEATURE_INDEX.keys():  # every feature of the table, and only those
        raise RuntimeError(f"central_bank_features: columns {sorted(columns.keys() ^ CB_FEATURE_INDEX.keys())} "
                           "are in one of the feature table and central_bank_features only")
    out = np.array([columns[name] for name in CB_FEATURE_NAMES], dtype=np.float64)
    return np.clip(out, CB_LOW, CB_HIGH).astype(np.float32)

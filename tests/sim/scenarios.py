"""Hand-solved test scenarios' common ground: an economy with everything off (no interbank
loans, markets, loan book, interest, fees, costs, deposit flows, requirements, maturities or
random shocks), on which each test turns on only what it solves by hand."""

from __future__ import annotations

from typing import Any

EVERYTHING_OFF: dict[str, Any] = {
    "network": {"type": "explicit", "edges": []},
    "balance_sheet": {"market_share": 0.0, "book_share": 0.0},
    "markets": {"volatility": 0.0, "drift": 0.0},
    "rates": {"deposit": 0.0, "book": 0.0, "book_volatility": 0.0, "fees": 0.0, "operating_cost": 0.0, "fixed_cost": 0.0},
    "central_bank": {"deposit_rate": 0.0, "policy_rate": 0.0, "lending_rate": 0.0},
    "funding": {"spread_per_leverage": 0.0, "maturity": 10_000},
    "deposit_flows": {"volatility": 0.0},
    "regulation": {"reserve_requirement": 0.0},
    "shocks": {"crash_prob": 0.0, "withdrawal_prob": 0.0, "scheduled": []},
}


def everything_off(**sections: Any) -> dict[str, Any]:
    """The everything-off scenario with ``sections`` on top: a section given as a dict updates
    that section's keys (``rates={"deposit": 0.01}`` keeps the other rates off); any other value
    (``banks``, ``max_steps``) is set as it is."""
    out: dict[str, Any] = {key: dict(value) for key, value in EVERYTHING_OFF.items()}
    for key, value in sections.items():
        out[key] = {**out[key], **value} if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out

"""``regime_switch``: a market turned calm or stressed (emitted by the ``regime_switching`` market
dynamic, ``interbank/sim/market_dynamics/regime_switching.py``). Both feeds show it as one line."""

from __future__ import annotations

from typing import Literal

from typing_extensions import TypedDict  # pydantic needs it on Python < 3.12 to export the schema

from interbank.sim.events import EventType, register_event
from interbank.sim.market_dynamics.regime_switching import REGIMES


class RegimeSwitchData(TypedDict):
    """``market``: its name; ``regime``: the new one; ``volatility``: the regime's, per step (ratio)."""

    market: str
    regime: Literal[REGIMES]  # type: ignore[valid-type]
    volatility: float


register_event(EventType(
    "regime_switch", RegimeSwitchData, kind="simulation", display="feed",
    feed="{market}: {regime} regime (volatility {volatility} a step)",
))

"""Regime switching (Hamilton 1989): each market is calm or stressed, a Markov chain per market,
and its volatility is the regime's. Volatility clusters, as in real index returns (Ang & Timmermann
2012); the drift is the random walk's (``markets.drift``, crashes compensated), so prices stay a
martingale after it. Each switch emits a ``regime_switch`` event."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from interbank.sim.market import compensated_drift, register_dynamic

REGIMES = ("calm", "stress")


@dataclass(frozen=True)
class RegimeSwitchingParams:
    """Volatilities per step (ratios) and switching probabilities per step.

    ``calm_volatility``, ``stress_volatility``: the regime's volatility (in [0, 1]);
    ``enter``: chance a calm market turns stressed; ``leave``: chance a stressed one calms."""

    calm_volatility: float = 0.01
    stress_volatility: float = 0.05
    enter: float = 0.02
    leave: float = 0.2

    def __post_init__(self) -> None:
        for name in ("calm_volatility", "stress_volatility", "enter", "leave"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
                raise ValueError(f"{name} must be a number in [0, 1], got {value!r}")


def regime_switching(state, params, ctx, own: RegimeSwitchingParams) -> None:
    """Switch regimes (one uniform draw per market), then a random-walk step at the regime's volatility."""
    mk, sh = params.config.markets, params.config.shocks
    stressed = state.market_memory.get("stressed", np.zeros(params.m, dtype=bool))
    u = state.rng.random(params.m)
    now = np.where(stressed, u >= own.leave, u < own.enter)
    state.market_memory["stressed"] = now
    sigma = np.where(now, own.stress_volatility, own.calm_volatility)
    mu = compensated_drift(mk.drift, sh.crash_prob, sh.crash_size)
    state.log_value += mu - 0.5 * sigma ** 2 + sigma * ctx.draws["z_mkt"]
    for k in np.flatnonzero(now != stressed).tolist():
        ctx.log.emit(ctx.t, "regime_switch", {
            "market": params.markets[k], "regime": REGIMES[int(now[k])], "volatility": float(sigma[k])})


register_dynamic("regime_switching", regime_switching, RegimeSwitchingParams)

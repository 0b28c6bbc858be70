"""Market prices: a registered dynamic (a random walk with drift by default) plus a transient price impact.

Notation (per market, one entry per configured name): ``v`` the log value (the
efficient price), ``x`` the transient impact (log), the price ``p = exp(v + x)``.
A net flow ``F`` dollars moves the log price by ``k F / depth`` (``impact`` k,
depth = ``depth_fraction`` x total initial bank assets): a share ``theta``
(``permanent_impact``) goes into ``v`` and stays, the rest into ``x``, which
decays by ``delta = 0.5 ** (1 / impact_half_life)`` every step (Bouchaud, Gefen,
Potters & Wyart 2004: impact is partly transient; Almgren & Chriss 2000). Each
step::

    x <- delta * x
    v <- v + mu - sigma^2 / 2 + sigma z + log(1 - c) 1{crash}
    mu = drift - log(1 - crash_prob * crash_size)

so that E[p_{t+1} / p_t] = exp(drift) with or without crashes (the diffusion is
compensated for the expected crash loss): after the drift, prices are a
martingale, and nothing in a bank's observation predicts the next return
beyond the decaying impact of its own market's recent flows (Fama 1970; weekly
index returns are close to unpredictable). ``reversion`` > 0 adds env v2's
pull ``-reversion * (v - log(p0) - drift * t)`` toward a drifting fundamental,
which makes prices predictable (kept for old scenarios; 0 by default).

The value's random step is the one thing a scenario can swap: ``markets.dynamic.type`` picks a
dynamic from ``MARKET_DYNAMICS`` (``random_walk``, the step above, by default); a new one is one
module in ``interbank/sim/market_dynamics/`` that calls ``register_dynamic`` (``regime_switching``
is the example).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from interbank.sim.registry import Registry

if TYPE_CHECKING:
    from interbank.sim.phases import StepContext
    from interbank.sim.state import BankState, Params


def decay(half_life: float) -> float:
    """The transient impact's factor per step."""
    return float(0.5 ** (1.0 / half_life))


def compensated_drift(drift: float, crash_prob: float, crash_size: float) -> float:
    """The diffusion's drift that makes the expected gross return per step exp(drift), crashes included."""
    return drift - float(np.log1p(-crash_prob * crash_size))


def impact_move(flow: np.ndarray, impact: float, depth: float) -> np.ndarray:
    """Log-price move of a net flow (dollars per market)."""
    return impact * flow / depth


def prices(log_value: np.ndarray, transient: np.ndarray, floor: np.ndarray) -> np.ndarray:
    """p = exp(v + x), never below ``floor``."""
    return np.maximum(np.exp(log_value + transient), floor)


# ----------------------------------------------------------------- dynamics
MARKET_DYNAMICS: Registry = Registry("market dynamic")
"""How market values move each step, by the name used in ``markets.dynamic.type``: each entry is
``step(state, params, ctx)`` that moves ``state.log_value`` (float[m], the efficient log price) by
the step's random move; the markets phase then adds crashes, the flows' impact and the floor,
whatever the dynamic. More register themselves from ``interbank/sim/market_dynamics/``."""


def register_dynamic(name: str, step: Callable[..., None], params: type | None = None) -> None:
    """Register a market dynamic under ``name`` (its ``markets.dynamic.type``):
    ``step(state, params, ctx, own)`` moves ``state.log_value`` in place, ``own`` being its
    parameter object built from ``markets.dynamic.params`` (None when ``params`` is None). It may
    keep arrays of its own in ``state.market_memory`` (start from ``.get``: empty at reset), draw
    from ``state.rng`` and emit events with ``ctx.log.emit(ctx.t, type, data)``. Random draws:
    ``ctx.draws["z_mkt"]`` holds the step's correlated standard normals, one per market."""

    def run(state: "BankState", p: "Params", ctx: "StepContext") -> None:
        step(state, p, ctx, MARKET_DYNAMICS.own_params(name, p.config.markets.dynamic.params))

    MARKET_DYNAMICS.register(name, run if params is not None else (lambda s, p, c: step(s, p, c, None)), params)


def random_walk(state: "BankState", params: "Params", ctx: "StepContext", own: None) -> None:
    """The default: a random walk with drift compensated for crashes (module docstring), plus env
    v2's pull toward a drifting fundamental when ``markets.reversion`` > 0."""
    mk, sh = params.config.markets, params.config.shocks
    mu = compensated_drift(mk.drift, sh.crash_prob, sh.crash_size)
    state.log_value += mu - 0.5 * mk.volatility ** 2 + mk.volatility * ctx.draws["z_mkt"]
    if mk.reversion > 0:  # env v2's pull toward a drifting fundamental (predictable; off by default)
        state.log_value -= mk.reversion * (state.log_value - np.log(state.price0) - mk.drift * ctx.t)


register_dynamic("random_walk", random_walk)
MARKET_DYNAMICS.load("interbank.sim.market_dynamics")

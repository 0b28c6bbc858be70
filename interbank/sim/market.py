"""Market prices: a random walk with drift plus a transient price impact.

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
"""

from __future__ import annotations

import numpy as np


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

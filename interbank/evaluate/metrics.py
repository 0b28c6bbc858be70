"""Aggregate episode results into per-policy metrics (the content of metrics.json)."""

from __future__ import annotations

from typing import Any

import numpy as np

from interbank.evaluate.episode import EpisodeResult
from interbank.sim.actions import PRIORITIES

UNITS = {
    "mean_return": "mean over episodes of the mean summed reward per bank",
    "std_return": "standard deviation over episodes of the same",
    "mean_objective": "summed reward per bank with the three components weighted equally whatever the priority (comparable across priority models)",
    "default_rate": "defaulted banks / banks, mean over episodes",
    "mean_cascade_size": "banks per cascade (a step's chain of defaults), mean over all cascades; 0 if none",
    "max_cascade_size": "largest cascade seen, banks",
    "systemic_loss": "equity destroyed / initial equity, mean over episodes",
    "final_capital_ratio": "total equity of survivors at the end / initial total equity, mean",
    "debtrank_max": "DebtRank of the most systemically important surviving bank at the end, mean",
    "debtrank_mean": "mean DebtRank of surviving banks at the end, mean over episodes",
    "return_by_priority": "mean reward per bank-step under each priority",
    "capital_path": "total equity of survivors per step: mean, p10, p90 over episodes (dollars)",
    "priority_mix": "fraction of live banks under each priority per step, mean over episodes",
}


def _pad(paths: list[list[float]]) -> np.ndarray:
    length = max(len(p) for p in paths)
    return np.array([p + [p[-1]] * (length - len(p)) for p in paths])


def aggregate(results: list[EpisodeResult]) -> dict[str, Any]:
    returns = np.array([r.mean_return for r in results])
    cascades = [c for r in results for c in r.cascades]
    capital = _pad([r.capital_path for r in results])
    prio: dict[str, float | None] = {}
    for p in PRIORITIES:
        vals = [r.return_by_priority.get(p.lower()) for r in results]
        vals = [v for v in vals if v is not None]
        prio[p.lower()] = float(np.mean(vals)) if vals else None
    mixes = [r.priority_mix for r in results if r.priority_mix]
    mix = _pad([[tuple(m) for m in x] for x in mixes]).mean(axis=0).tolist() if mixes else []
    return {
        "episodes": len(results),
        "mean_return": float(returns.mean()),
        "std_return": float(returns.std()),
        "mean_objective": float(np.mean([r.mean_objective for r in results])),
        "default_rate": float(np.mean([r.defaults / r.n_banks for r in results])),
        "mean_cascade_size": float(np.mean(cascades)) if cascades else 0.0,
        "max_cascade_size": int(max(cascades, default=0)),
        "cascade_sizes": cascades,
        "systemic_loss": float(np.mean([r.systemic_loss for r in results])),
        "final_capital_ratio": float(np.mean([r.final_capital / r.initial_capital for r in results])),
        "debtrank_max": float(np.mean([r.debtrank_max for r in results])),
        "debtrank_mean": float(np.mean([r.debtrank_mean for r in results])),
        "return_by_priority": prio,
        "capital_path": {
            "mean": capital.mean(axis=0).tolist(),
            "p10": np.percentile(capital, 10, axis=0).tolist(),
            "p90": np.percentile(capital, 90, axis=0).tolist(),
        },
        "priority_mix": mix,
    }

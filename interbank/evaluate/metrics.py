"""Aggregate episode results into per-policy metrics (the content of metrics.json)."""

from __future__ import annotations

from typing import Any

import numpy as np

from interbank.evaluate.episode import EpisodeResult
from interbank.sim.actions import ACTIONS, PRIORITIES

UNITS = {
    "mean_return": "mean over episodes of the mean summed reward per bank",
    "std_return": "standard deviation over episodes of the same",
    "mean_objective": "summed reward per bank from the shareholder's profit component only, whatever the priority (comparable across priority models)",
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
    "welfare": "social welfare at the end: equity of open banks minus losses pushed onto depositors, outside creditors and the central bank, over initial equity; mean over episodes",
    "interbank_volume": "interbank loans outstanding over their initial amount, mean over steps and episodes (intermediation)",
    "funding_unmet": "funding requested but not matched / funding requested, over each episode, mean (credit rationing)",
    "fire_sale_losses": "discounts paid on forced sales (positions and loan book) over initial equity, mean",
    "central_bank_usage": "lending-facility draws over initial equity, mean",
    "central_bank_losses": "the central bank's credit losses on banks that failed, over initial equity, mean",
    "central_bank_cost": "the central bank's losses in all (interest paid on reserves - interest earned + credit losses), over initial equity, mean",
    "action_frequency": f"share of live bank-steps executing each action ({', '.join(ACTIONS)})",
    "action_path": "per step, the share of live banks executing each action, mean over episodes",
    "volume_path": "interbank loans over their initial amount, after reset and each step, mean over episodes",
    "price_of_anarchy": "welfare under the selfish policies / welfare under the social ones (means over seeds); null unless both are positive",
    "price_of_anarchy_difference": "welfare under the selfish policies / welfare under the difference-reward ones (means over seeds); null unless both are positive",
    "cash_path": "mean cash / assets of live banks, after reset and each step, mean over episodes",
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
    counts = np.sum([r.action_counts for r in results], axis=0).astype(float)
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
        "welfare": float(np.mean([r.welfare for r in results])),
        "welfare_std": float(np.std([r.welfare for r in results])),
        "interbank_volume": float(np.mean([r.interbank_volume for r in results])),
        "funding_unmet": float(np.mean([r.funding_unmet for r in results])),
        "fire_sale_losses": float(np.mean([r.fire_sale_losses for r in results])),
        "central_bank_usage": float(np.mean([r.central_bank_usage for r in results])),
        "central_bank_losses": float(np.mean([r.central_bank_losses for r in results])),
        "central_bank_cost": float(np.mean([r.central_bank_cost for r in results])),
        "action_frequency": dict(zip(ACTIONS, (counts / max(1, counts.sum())).tolist())),
        "action_path": _pad([[tuple(a) for a in r.action_path] for r in results]).mean(axis=0).tolist(),
        "volume_path": _pad([r.volume_path for r in results]).mean(axis=0).tolist(),
        "cash_path": _pad([r.cash_path for r in results]).mean(axis=0).tolist(),
    }

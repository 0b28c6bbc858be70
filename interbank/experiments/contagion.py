"""Gai & Kapadia (2010) and Nier et al. (2007) contagion experiments on interbank's own core.

Both run through ``interbank.sim.BankingSystem``: the same balance sheets,
ledger, default rule and cascade code the environment uses, configured by a
preset (no markets, no noise). One run = reset the system on a fresh network,
wipe out the external assets of one random bank, resolve defaults until the
cascade stops, count the defaults.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import numpy as np

from interbank.config import EnvConfig, resolve_env_config
from interbank.sim.system import BankingSystem


def gai_kapadia_env(n_banks: int, degree: float, capital_ratio: float, interbank_share: float,
                    default_at_zero_equity: bool) -> EnvConfig:
    """Every bank: assets 100, capital ``capital_ratio`` of assets, interbank assets
    ``interbank_share`` of assets spread evenly over its debtors; directed Erdos-Renyi
    network of mean degree z; zero recovery; no markets."""
    return resolve_env_config(None, **{
        "banks": [{"capital": 100.0 * capital_ratio, "target_leverage": 1.0 / capital_ratio, "risk": 0.0}] * n_banks,
        "network": {"type": "erdos_renyi", "avg_degree": degree},
        "balance_sheet": {"interbank_share": interbank_share, "market_share": 0.0},
        "clearing": {"model": "fixed_recovery", "recovery": 0.0, "default_at_zero_equity": default_at_zero_equity},
        "shocks": {"crash_prob": 0.0, "withdrawal_prob": 0.0}, "max_steps": 1,
    })


def _runs(config: EnvConfig, seeds: Iterable[int]) -> list[int]:
    """Defaults per run, one run per seed (the seed draws the network and the failing bank)."""
    system = BankingSystem(config, record_events=False)
    out = []
    for seed in seeds:
        system.reset(seed)
        first = int(np.random.default_rng([seed, 7]).integers(system.n))
        system.wipe_external_assets(np.array([first]))
        system.resolve_defaults()
        out.append(int(system.defaulted.sum()))
    return out


def _gk_task(args: tuple) -> tuple[float, list[int]]:
    n, z, cap, share, zero, seeds = args
    return z, _runs(gai_kapadia_env(n, z, cap, share, zero), seeds)


def analytic_window(capital_ratio: float, interbank_share: float, default_at_zero_equity: bool,
                    z_max: float = 30.0) -> dict[str, Any]:
    """The contagion window of the threshold condition on a directed Erdos-Renyi network.

    A bank with j debtors loses interbank_share / j of its assets when one of them
    fails (zero recovery); it is *vulnerable* when that loss alone exceeds its
    capital: j < interbank_share / capital_ratio (j <= with the default-at-zero rule).
    With Poisson(z) degrees the vulnerable cluster percolates (contagion can spread
    globally) when z * P(Poisson(z) <= J - 1) > 1, J the largest vulnerable j
    (Gai & Kapadia 2010, eq. 3.5 with independent in and out degrees).
    """
    ratio = round(interbank_share / capital_ratio, 9)
    j_max = math.floor(ratio) if default_at_zero_equity else math.ceil(ratio) - 1
    zs = np.linspace(0.01, z_max, 30000)
    cdf = np.zeros_like(zs)
    term = np.exp(-zs)
    for k in range(0, j_max):
        cdf += term
        term = term * zs / (k + 1)
    lhs = zs * cdf if j_max >= 1 else np.zeros_like(zs)
    inside = lhs > 1.0
    if not inside.any():
        return {"vulnerable_max_debtors": j_max, "z_low": None, "z_high": None, "curve_z": zs[::300].tolist(), "curve": lhs[::300].tolist()}
    idx = np.flatnonzero(inside)
    return {"vulnerable_max_debtors": j_max, "z_low": float(zs[idx[0]]), "z_high": float(zs[idx[-1]]),
            "curve_z": zs[::300].tolist(), "curve": lhs[::300].tolist()}


def gai_kapadia(n_banks: int, runs: int, degrees: list[float], seed: int, capital_ratio: float = 0.04,
                interbank_share: float = 0.2, default_at_zero_equity: bool = False, threshold: float = 0.05,
                workers: int = 2, progress: Callable[[int], None] | None = None) -> dict[str, Any]:
    """Frequency (share of runs with >= ``threshold`` of banks defaulting) and extent (mean
    fraction defaulting given contagion) for every mean degree z."""
    tasks = []
    for k, z in enumerate(degrees):
        seeds = [seed * 1_000_003 + k * 100_000 + r for r in range(runs)]
        chunk = max(1, math.ceil(runs / (4 * max(1, workers))))
        for start in range(0, runs, chunk):
            tasks.append((n_banks, z, capital_ratio, interbank_share, default_at_zero_equity, seeds[start:start + chunk]))
    per_z: dict[float, list[int]] = {z: [] for z in degrees}
    for z, counts in _map(_gk_task, tasks, workers, progress):
        per_z[z].extend(counts)
    rows = []
    for z in degrees:
        frac = np.array(per_z[z]) / n_banks
        hit = frac >= threshold
        rows.append({"z": z, "runs": len(frac), "frequency": float(hit.mean()),
                     "extent": float(frac[hit].mean()) if hit.any() else 0.0})
    return {"rows": rows, "window": analytic_window(capital_ratio, interbank_share, default_at_zero_equity)}


def nier_env(n_banks: int, p: float, net_worth: float, interbank_share: float) -> EnvConfig:
    """Nier et al.: equal banks (assets 100), net worth ``net_worth`` of assets, interbank
    share of assets lent over an Erdos-Renyi network of link probability p; Eisenberg-Noe clearing
    (deposits are paid pro rata with interbank creditors); no markets."""
    return resolve_env_config(None, **{
        "banks": [{"capital": 100.0 * net_worth, "target_leverage": 1.0 / net_worth, "risk": 0.0}] * n_banks,
        "network": {"type": "erdos_renyi", "avg_degree": p * (n_banks - 1)},
        "balance_sheet": {"interbank_share": interbank_share, "market_share": 0.0},
        "clearing": {"model": "eisenberg_noe"},
        "shocks": {"crash_prob": 0.0, "withdrawal_prob": 0.0}, "max_steps": 1,
    })


def _nier_task(args: tuple) -> tuple[tuple[float, float], list[int]]:
    n, p, w, share, seeds = args
    return (p, w), _runs(nier_env(n, p, w, share), seeds)


def nier(n_banks: int, runs: int, probabilities: list[float], net_worths: list[float], seed: int,
         interbank_share: float = 0.2, workers: int = 2, progress: Callable[[int], None] | None = None) -> dict[str, Any]:
    """Mean defaults for every (p, net worth). Every net worth uses the same seeds, so the same
    networks and the same failing bank: only capital changes."""
    tasks = []
    for k, p in enumerate(probabilities):
        seeds = [seed * 1_000_003 + k * 100_000 + r for r in range(runs)]
        for w in net_worths:
            tasks.append((n_banks, p, w, interbank_share, seeds))
    results: dict[tuple[float, float], list[int]] = {}
    for key, counts in _map(_nier_task, tasks, workers, progress):
        results[key] = counts
    rows = [{"p": p, "net_worth": w, "runs": runs, "mean_defaults": float(np.mean(results[(p, w)])),
             "defaults": results[(p, w)]} for p in probabilities for w in net_worths]
    return {"rows": rows}


def _map(fn, tasks: list, workers: int, progress: Callable[[int], None] | None):
    if workers <= 1 or len(tasks) == 1:
        for task in tasks:
            result = fn(task)
            if progress:
                progress(len(task[-1]))
            yield result
        return
    with ProcessPoolExecutor(max_workers=workers) as pool:
        for task, result in zip(tasks, pool.map(fn, tasks)):
            if progress:
                progress(len(task[-1]))
            yield result

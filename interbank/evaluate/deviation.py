"""Unilateral deviations: is a policy played by every bank a best response to itself?

A shared policy trained on each bank's own (selfish) reward aims at an equilibrium of
the banks' game, not at the best symmetric profile: a rule that every bank follows may
give a higher mean return (the tuned ``lend_surplus`` in a quiet market, where banks
that lend less spare their borrowers costs) and still not be self-enforcing, because
one bank does better by deviating from it. Empirical game-theoretic analysis (Wellman
2006, "Methods for empirical game-theoretic analysis"; the exploitability of MARL
policies, Lanctot et al. 2017) checks this by simulation; so does this module.

For base profile B (every bank plays B) and deviation D, episode i (seed ``seed + i``)
is played twice with the same network and shocks: once with every bank on B, once with
bank ``i mod n_banks`` alone on D. ``gain`` is that bank's summed (selfish) reward in the
second run minus in the first; ``others`` is the change in the other banks' summed
rewards (what the deviation does to the rest, the externality). A profile is an
equilibrium against the deviations tried when no ``gain`` is significantly positive:
one-sided, at 5% after a Bonferroni correction for the number of deviations tried (the
largest of many noisy gains is biased upward); ``best_deviation`` reports the largest
gain, ``paying`` the deviations that pass the test.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from interbank.config import EnvConfig
from interbank.envs import parallel_env
from interbank.policies.base import Policy
from interbank.policies.rollout import rollout


@dataclass
class DeviationTask:
    """One episode of one (base, deviation) pair: ``deviator`` None plays the base profile."""

    env_cfg: EnvConfig
    base: Policy
    deviation: Policy | None
    seed: int
    deviator: int | None


class OneDeviates:
    """The base policy for every bank but ``deviator``, which plays ``deviation``. ``act`` gets
    the live banks' rows in bank order (``batch_actions``), so the deviator's row is found
    from the env's live set."""

    def __init__(self, base: Policy, deviation: Policy, deviator: int, env) -> None:
        self.base, self.deviation, self.deviator, self.env = base, deviation, deviator, env
        self.name = f"{base.name} but bank {deviator}: {deviation.name}"

    def reset(self, seed: int | None = None) -> None:
        self.base.reset(seed)
        self.deviation.reset(seed)

    def act(self, observations: np.ndarray, masks: np.ndarray) -> np.ndarray:
        actions = np.asarray(self.base.act(observations, masks)).copy()
        live = np.flatnonzero(self.env.system.active)
        k = int(np.searchsorted(live, self.deviator))
        if k < live.size and live[k] == self.deviator:
            actions[k] = self.deviation.act(observations[k:k + 1], masks[k:k + 1])[0]
        return actions


def play_profile(task: DeviationTask) -> np.ndarray:
    """float64[n_banks]: each bank's summed reward over the episode (gone banks keep theirs)."""
    env = parallel_env(task.env_cfg)
    policy = task.base if task.deviation is None else OneDeviates(task.base, task.deviation, task.deviator, env)
    total = np.zeros(0)

    def start(system) -> None:
        nonlocal total
        total = np.zeros(system.n)

    def add(system, step) -> None:
        total[step.acted] += step.rewards[step.acted]

    rollout(env, policy, task.seed, on_reset=start, on_batch=add)
    return total


def deviation_tasks(env_cfg: EnvConfig, bases: dict[str, Policy], deviations: dict[str, Policy], seed: int,
                    episodes: int) -> list[tuple[tuple[str, str | None, int], DeviationTask]]:
    """Keyed tasks: (base, None, i) plays episode i on the base profile, (base, dev, i) with
    bank ``i mod n_banks`` deviating. A deviation equal to its base is skipped."""
    n = env_cfg.n_banks
    tasks = []
    for b, base in bases.items():
        for i in range(episodes):
            tasks.append(((b, None, i), DeviationTask(env_cfg, base, None, seed + i, None)))
            for d, dev in deviations.items():
                if d != b:
                    tasks.append(((b, d, i), DeviationTask(env_cfg, base, dev, seed + i, i % n)))
    return tasks


def summarise(results: dict[tuple[str, str | None, int], np.ndarray], n_banks: int, episodes: int) -> dict[str, Any]:
    """``{base: {"deviations": {dev: {gain, stderr, others, better_share}}, "best_deviation": ...}}``."""
    bases = list(dict.fromkeys(k[0] for k in results))
    out: dict[str, Any] = {}
    for b in bases:
        devs = list(dict.fromkeys(k[1] for k in results if k[0] == b and k[1] is not None))
        table: dict[str, Any] = {}
        for d in devs:
            gains, others = [], []
            for i in range(episodes):
                j = i % n_banks
                delta = results[(b, d, i)] - results[(b, None, i)]
                gains.append(delta[j])
                others.append(float(np.delete(delta, j).sum()))
            g = np.array(gains)
            table[d] = {
                "gain": float(g.mean()),
                "stderr": float(g.std(ddof=1) / np.sqrt(len(g))) if len(g) > 1 else 0.0,
                "others": float(np.mean(others)),
                "better_share": float(np.mean(g > 0)),
            }
        out[b] = verdict(table)
    return out


def verdict(table: dict[str, dict[str, float]], level: float = 0.05) -> dict[str, Any]:
    """Which deviations pay: gain / stderr above the one-sided normal quantile at ``level`` /
    (number of deviations) (Bonferroni). Returns the profile's summary for ``summarise``."""
    from scipy.stats import norm

    threshold = float(norm.ppf(1.0 - level / max(len(table), 1)))
    z = {d: x["gain"] / x["stderr"] if x["stderr"] > 0 else (float("inf") if x["gain"] > 0 else 0.0)
         for d, x in table.items()}
    for d, x in table.items():
        # a gain without spread (every episode the same) pays for certain: z is unbounded, stored as
        # None so that metrics.json stays valid JSON
        x["z"] = z[d] if np.isfinite(z[d]) else None
    paying = sorted((d for d in table if z[d] > threshold), key=lambda d: -table[d]["gain"])
    best = max(table, key=lambda d: table[d]["gain"]) if table else None
    return {"deviations": table, "best_deviation": best, "best_gain": table[best]["gain"] if best else None,
            "z_threshold": threshold, "paying": paying, "significant": bool(paying)}


def deviations_table(deviations: dict[str, Any]) -> tuple[tuple[str, ...], list[tuple]]:
    """One row per base profile: its most profitable unilateral deviation."""
    headers = ("every bank plays", "best deviation for one bank", "its gain ± s.e.", "the others' change", "equilibrium?")
    rows = []
    for b, r in deviations.items():
        d = r["paying"][0] if r["paying"] else r["best_deviation"]
        if d is None:
            continue
        x = r["deviations"][d]
        answer = f"no: {len(r['paying'])} of {len(r['deviations'])} pay" if r["significant"] else "yes, against these"
        rows.append((b, d, f"{x['gain']:+.4f} ± {x['stderr']:.4f}", f"{x['others']:+.4f}", answer))
    return headers, rows

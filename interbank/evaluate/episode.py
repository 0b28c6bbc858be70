"""One evaluated episode: play a policy with ``interbank.policies.rollout`` and measure it.

The figures of ``EpisodeResult`` are what ``interbank.evaluate.metrics.aggregate`` averages
into metrics.json; ``interbank simulate`` prints a few of them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from interbank.envs.rewards import objective as step_objective
from interbank.policies.base import Policy
from interbank.policies.rollout import rollout
from interbank.sim.actions import PRIORITIES
from interbank.sim.debtrank import debtrank
from interbank.sim.events import Event


@dataclass
class EpisodeResult:
    """Figures of one episode.

    ``mean_return``: mean over banks of each bank's summed reward; ``capital_path``:
    total equity of the surviving banks after reset and after each step (dollars);
    ``systemic_loss``: equity destroyed, sum over banks of max(0, initial equity -
    max(final equity, 0)), as a fraction of initial total equity; ``debtrank_max`` /
    ``debtrank_mean``: DebtRank of the most important / average surviving bank at the
    end; ``return_by_priority``: mean reward per bank-step under each priority;
    ``priority_mix``: per step, the fraction of live banks under each priority;
    ``mean_objective``: like ``mean_return`` but the shareholder's profit component only
    (equity growth, the default cost), whatever the priority, so that runs under different
    priorities can be compared on one scale.
    """

    seed: int | None
    steps: int
    mean_return: float
    defaults: int
    n_banks: int
    cascades: list[int]
    capital_path: list[float]
    initial_capital: float
    final_capital: float
    mean_objective: float = 0.0
    systemic_loss: float = 0.0
    debtrank_max: float = 0.0
    debtrank_mean: float = 0.0
    return_by_priority: dict[str, float | None] = field(default_factory=dict)
    priority_mix: list[list[float]] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)


def evaluate_episode(
    env, policy: Policy, seed: int | None, on_step: Callable[[int, list[Event]], None] | None = None
) -> EpisodeResult:
    """Play ``policy`` in ``env`` (an ``InterbankEnv``) from ``reset(seed)`` to the end and measure
    the episode. ``on_step(step, events)`` as in ``rollout``."""
    acc: dict[str, Any] = {}

    def on_reset(system) -> None:
        acc.update(
            n=system.n, equity0=system.equity().copy(), returns=np.zeros(system.n), objective=np.zeros(system.n),
            prio_sum=np.zeros(len(PRIORITIES)), prio_count=np.zeros(len(PRIORITIES)),
            capital=[system.total_capital()], mix=[],
        )

    def on_batch(system, batch) -> None:
        acted = batch.acted
        acc["returns"] += np.where(acted, batch.rewards, 0.0)
        acc["objective"] += np.where(acted, step_objective(batch.components), 0.0)
        np.add.at(acc["prio_sum"], batch.priority[acted], batch.rewards[acted])
        np.add.at(acc["prio_count"], batch.priority[acted], 1.0)
        acc["mix"].append((np.bincount(batch.priority[acted], minlength=len(PRIORITIES)) / max(1, acted.sum())).tolist())
        acc["capital"].append(system.total_capital())

    rollout(env, policy, seed, on_step, on_reset=on_reset, on_batch=on_batch)
    system = env.system
    equity0, capital = acc["equity0"], acc["capital"]
    final = np.where(system.active, system.equity(), 0.0)
    lost = np.maximum(0.0, equity0 - np.maximum(final, 0.0)).sum()
    alive = system.active
    dr = np.zeros(0)
    if alive.sum() > 1:
        keep = alive[system.lender] & alive[system.borrower]
        remap = np.cumsum(alive) - 1
        dr = debtrank(remap[system.lender[keep]], remap[system.borrower[keep]], system.amount[keep], final[alive])
    by_prio = {p.lower(): (float(s / c) if c else None) for p, s, c in zip(PRIORITIES, acc["prio_sum"], acc["prio_count"])}
    return EpisodeResult(
        seed=seed, steps=system.t, mean_return=float(acc["returns"].mean()), defaults=int(system.defaulted.sum()),
        n_banks=acc["n"], cascades=list(system.cascades), capital_path=capital, initial_capital=capital[0],
        final_capital=capital[-1], mean_objective=float(acc["objective"].mean()), systemic_loss=float(lost / equity0.sum()),
        debtrank_max=float(dr.max()) if dr.size else 0.0, debtrank_mean=float(dr.mean()) if dr.size else 0.0,
        return_by_priority=by_prio, priority_mix=acc["mix"], summary=system.summary(),
    )

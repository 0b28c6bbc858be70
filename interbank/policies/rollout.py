"""Run one seeded episode of an env with a batch policy (used by simulate and evaluation)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from interbank.envs.rewards import objective as step_objective
from interbank.policies.base import Policy, batch_actions
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


def rollout(
    env, policy: Policy, seed: int | None, on_step: Callable[[int, list[Event]], None] | None = None
) -> EpisodeResult:
    """Play ``policy`` in ``env`` (an ``InterbankEnv``) from ``reset(seed)`` to the end.

    ``on_step(step, events)`` is called after reset (step 0) and after every step
    with the events produced (empty unless the env records events).
    """
    policy.reset(seed)
    env.reset(seed=seed)
    system = env.system
    n = system.n
    equity0 = system.equity().copy()
    returns = np.zeros(n)
    objective = np.zeros(n)
    prio_sum, prio_count = np.zeros(len(PRIORITIES)), np.zeros(len(PRIORITIES))
    capital = [system.total_capital()]
    mix: list[list[float]] = []
    if on_step:
        on_step(0, env.drain_events())
    while env.agents:
        batch = env.step_batch(batch_actions(policy, env))
        acted = batch.acted
        returns += np.where(acted, batch.rewards, 0.0)
        obj = step_objective(batch.components)
        objective += np.where(acted, obj, 0.0)
        np.add.at(prio_sum, batch.priority[acted], batch.rewards[acted])
        np.add.at(prio_count, batch.priority[acted], 1.0)
        mix.append((np.bincount(batch.priority[acted], minlength=len(PRIORITIES)) / max(1, acted.sum())).tolist())
        capital.append(system.total_capital())
        if on_step:
            on_step(system.t, env.drain_events())
    final = np.where(system.active, system.equity(), 0.0)
    lost = np.maximum(0.0, equity0 - np.maximum(final, 0.0)).sum()
    alive = system.active
    dr = np.zeros(0)
    if alive.sum() > 1:
        keep = alive[system.lender] & alive[system.borrower]
        remap = np.cumsum(alive) - 1
        dr = debtrank(remap[system.lender[keep]], remap[system.borrower[keep]], system.amount[keep], final[alive])
    by_prio = {p.lower(): (float(s / c) if c else None) for p, s, c in zip(PRIORITIES, prio_sum, prio_count)}
    return EpisodeResult(
        seed=seed, steps=system.t, mean_return=float(returns.mean()), defaults=int(system.defaulted.sum()),
        n_banks=n, cascades=list(system.cascades), capital_path=capital, initial_capital=capital[0],
        final_capital=capital[-1], mean_objective=float(objective.mean()), systemic_loss=float(lost / equity0.sum()),
        debtrank_max=float(dr.max()) if dr.size else 0.0, debtrank_mean=float(dr.mean()) if dr.size else 0.0,
        return_by_priority=by_prio, priority_mix=mix, summary=system.summary(),
    )

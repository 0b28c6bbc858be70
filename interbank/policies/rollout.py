"""Run one seeded episode of an env with a batch policy (used by simulate and evaluation)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from interbank.envs.rewards import objective as step_objective
from interbank.policies.base import Policy, batch_actions
from interbank.sim.actions import N_ACTIONS, PRIORITIES
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

    System figures: ``welfare`` (``BankingSystem.welfare`` at the end: equity of open banks
    minus losses pushed onto outsiders, over initial equity); ``interbank_volume`` (mean over
    steps of interbank loans outstanding over their initial amount); ``funding_unmet``
    (unmet / requested funding over the episode, 0 when nothing was requested);
    ``fire_sale_losses`` (discounts paid on forced sales of positions and of the loan book,
    over initial equity); ``central_bank_usage`` (facility lending over initial equity);
    ``action_counts`` (executed actions of live banks, per action over the episode);
    ``action_path`` (per step, the fraction of live banks executing each action);
    ``volume_path`` (interbank loans over their initial amount, after reset and each step);
    ``cash_path`` (mean cash / assets of the live banks, after reset and each step).
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
    welfare: float = 1.0
    interbank_volume: float = 0.0
    funding_unmet: float = 0.0
    fire_sale_losses: float = 0.0
    central_bank_usage: float = 0.0
    action_counts: list[int] = field(default_factory=list)
    action_path: list[list[float]] = field(default_factory=list)
    volume_path: list[float] = field(default_factory=list)
    cash_path: list[float] = field(default_factory=list)


def _cash_ratio(system) -> float:
    alive = system.active
    if not alive.any():
        return 0.0
    return float(np.mean(system.cash[alive] / np.maximum(system.total_assets()[alive], 1e-12)))


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
    volume0 = max(float(system.loans_out().sum()), 1e-12)
    volume, cash = [float(system.loans_out().sum()) / volume0], [_cash_ratio(system)]
    counts = np.zeros(N_ACTIONS, dtype=np.int64)
    action_path: list[list[float]] = []
    requested = unmet = 0.0
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
        step_counts = np.bincount(batch.executed[acted & (batch.executed >= 0)], minlength=N_ACTIONS)
        counts += step_counts
        action_path.append((step_counts / max(1, acted.sum())).tolist())
        volume.append(float(system.loans_out().sum()) / volume0)
        cash.append(_cash_ratio(system))
        requested += float(system.funding["requested"].sum())
        unmet += float(system.funding["unmet"].sum())
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
    clearing, e0 = system.config.clearing, float(equity0.sum())
    by_prio = {p.lower(): (float(s / c) if c else None) for p, s, c in zip(PRIORITIES, prio_sum, prio_count)}
    return EpisodeResult(
        seed=seed, steps=system.t, mean_return=float(returns.mean()), defaults=int(system.defaulted.sum()),
        n_banks=n, cascades=list(system.cascades), capital_path=capital, initial_capital=capital[0],
        final_capital=capital[-1], mean_objective=float(objective.mean()), systemic_loss=float(lost / equity0.sum()),
        debtrank_max=float(dr.max()) if dr.size else 0.0, debtrank_mean=float(dr.mean()) if dr.size else 0.0,
        return_by_priority=by_prio, priority_mix=mix, summary=system.summary(),
        welfare=system.welfare(), interbank_volume=float(np.mean(volume[1:] or volume)),
        funding_unmet=unmet / requested if requested > 0 else 0.0,
        fire_sale_losses=(clearing.fire_sale_discount * system.fire_sales + clearing.book_discount * system.book_sales) / e0,
        central_bank_usage=system.cb_lent / e0, action_counts=counts.tolist(), action_path=action_path,
        volume_path=volume, cash_path=cash,
    )

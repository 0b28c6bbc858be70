"""One evaluated episode: play a policy with ``interbank.policies.rollout`` and measure it.

The figures of ``EpisodeResult`` are what ``interbank.evaluate.metrics.aggregate`` averages
into metrics.json; ``interbank simulate`` prints a few of them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from interbank.envs.central_bank_observation import central_bank_cost
from interbank.envs.rewards import objective as step_objective
from interbank.policies.base import Policy
from interbank.policies.rollout import rollout
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
    ``central_bank_losses`` (the central bank's credit losses on failed banks over initial equity);
    ``central_bank_cost`` (its losses in all: minus its net worth over initial equity, see
    ``interbank.envs.central_bank_observation.central_bank_cost``);
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
    central_bank_losses: float = 0.0
    central_bank_cost: float = 0.0
    action_counts: list[int] = field(default_factory=list)
    action_path: list[list[float]] = field(default_factory=list)
    volume_path: list[float] = field(default_factory=list)
    cash_path: list[float] = field(default_factory=list)


def _cash_ratio(system) -> float:
    alive = system.active
    if not alive.any():
        return 0.0
    return float(np.mean(system.cash[alive] / np.maximum(system.total_assets()[alive], 1e-12)))


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
            volume0=max(float(system.loans_out().sum()), 1e-12), counts=np.zeros(N_ACTIONS, dtype=np.int64),
            action_path=[], cash=[_cash_ratio(system)], requested=0.0, unmet=0.0,
        )
        acc["volume"] = [float(system.loans_out().sum()) / acc["volume0"]]

    def on_batch(system, batch) -> None:
        acted = batch.acted
        acc["returns"] += np.where(acted, batch.rewards, 0.0)
        acc["objective"] += np.where(acted, step_objective(batch.components), 0.0)
        np.add.at(acc["prio_sum"], batch.priority[acted], batch.rewards[acted])
        np.add.at(acc["prio_count"], batch.priority[acted], 1.0)
        acc["mix"].append((np.bincount(batch.priority[acted], minlength=len(PRIORITIES)) / max(1, acted.sum())).tolist())
        acc["capital"].append(system.total_capital())
        step_counts = np.bincount(batch.executed[acted & (batch.executed >= 0)], minlength=N_ACTIONS)
        acc["counts"] += step_counts
        acc["action_path"].append((step_counts / max(1, acted.sum())).tolist())
        acc["volume"].append(float(system.loans_out().sum()) / acc["volume0"])
        acc["cash"].append(_cash_ratio(system))
        acc["requested"] += float(system.funding["requested"].sum())
        acc["unmet"] += float(system.funding["unmet"].sum())

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
    clearing, e0 = system.config.clearing, float(equity0.sum())
    by_prio = {p.lower(): (float(s / c) if c else None) for p, s, c in zip(PRIORITIES, acc["prio_sum"], acc["prio_count"])}
    return EpisodeResult(
        seed=seed, steps=system.t, mean_return=float(acc["returns"].mean()), defaults=int(system.defaulted.sum()),
        n_banks=acc["n"], cascades=list(system.cascades), capital_path=capital, initial_capital=capital[0],
        final_capital=capital[-1], mean_objective=float(acc["objective"].mean()), systemic_loss=float(lost / equity0.sum()),
        debtrank_max=float(dr.max()) if dr.size else 0.0, debtrank_mean=float(dr.mean()) if dr.size else 0.0,
        return_by_priority=by_prio, priority_mix=acc["mix"], summary=system.summary(),
        welfare=system.welfare(), interbank_volume=float(np.mean(acc["volume"][1:] or acc["volume"])),
        funding_unmet=acc["unmet"] / acc["requested"] if acc["requested"] > 0 else 0.0,
        fire_sale_losses=(clearing.fire_sale_discount * system.fire_sales + clearing.book_discount * system.book_sales) / e0,
        central_bank_usage=system.cb_lent / e0, central_bank_losses=system.central_bank_losses / e0,
        central_bank_cost=central_bank_cost(system),
        action_counts=acc["counts"].tolist(), action_path=acc["action_path"],
        volume_path=acc["volume"], cash_path=acc["cash"],
    )

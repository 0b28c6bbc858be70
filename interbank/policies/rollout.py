"""Run one seeded episode of an env with a batch policy (used by simulate and evaluation)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from interbank.policies.base import Policy, act_on_env
from interbank.sim.events import Event


@dataclass
class EpisodeResult:
    """Figures of one episode. Money in dollars; ``mean_return`` is the mean over
    banks of each bank's summed reward."""

    seed: int | None
    steps: int
    mean_return: float
    defaults: int
    cascades: list[int]
    capital_path: list[float]
    initial_capital: float
    final_capital: float
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
    returns = np.zeros(system.n)
    capital = [system.total_capital()]
    if on_step:
        on_step(0, env.drain_events())
    while env.agents:
        _, rewards, _, _, _ = env.step(act_on_env(policy, env))
        for agent, r in rewards.items():
            returns[env.agent_index[agent]] += r
        capital.append(system.total_capital())
        if on_step:
            on_step(system.t, env.drain_events())
    return EpisodeResult(
        seed=seed, steps=system.t, mean_return=float(returns.mean()), defaults=int(system.defaulted.sum()),
        cascades=list(system.cascades), capital_path=capital, initial_capital=capital[0],
        final_capital=capital[-1], summary=system.summary(),
    )

"""Play one seeded episode of an env with a batch policy (simulate, evaluation, experiments).

Only plays: what is measured is up to the caller's hooks (``interbank.evaluate.episode``
measures an episode for evaluation).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from interbank.policies.base import Policy, batch_actions
from interbank.sim.events import Event


def rollout(
    env, policy: Policy, seed: int | None, on_step: Callable[[int, list[Event]], None] | None = None,
    on_reset: Callable[[Any], None] | None = None, on_batch: Callable[[Any, Any], None] | None = None,
) -> int:
    """Play ``policy`` in ``env`` (an ``InterbankEnv``) from ``reset(seed)`` to the end; returns the steps.

    ``on_reset(system)`` is called after reset, ``on_batch(system, batch)`` after every step with
    its ``BatchStep``, and ``on_step(step, events)`` after reset (step 0) and after every step with
    the events produced (empty unless the env records events).
    """
    policy.reset(seed)
    env.reset(seed=seed)
    system = env.system
    if on_reset:
        on_reset(system)
    if on_step:
        on_step(0, env.drain_events())
    while env.agents:
        batch = env.step_batch(batch_actions(policy, env))
        if on_batch:
            on_batch(system, batch)
        if on_step:
            on_step(system.t, env.drain_events())
    return system.t

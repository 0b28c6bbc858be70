"""The one policy interface every front end uses.

A policy maps a batch of observations (float32[B, N_FEATURES]) and action masks
(int8/bool[B, 5]) to actions (int64[B]). It must only return actions the mask
allows. ``reset(seed)`` is called at the start of each episode.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

from interbank.sim.actions import HOLD


@runtime_checkable
class Policy(Protocol):
    """Batch policy: ``act(observations, action_masks) -> actions``."""

    name: str

    def reset(self, seed: int | None = None) -> None: ...

    def act(self, observations: np.ndarray, action_masks: np.ndarray) -> np.ndarray: ...


def batch_actions(policy: Policy, env) -> np.ndarray:
    """int64[n_banks] for ``InterbankEnv.step_batch``: the policy's choice for every active bank
    (one batched call), HOLD for the gone ones."""
    actions = np.full(env.system.n, HOLD, dtype=np.int64)
    idx = np.flatnonzero(env.system.active)
    if idx.size:
        actions[idx] = policy.act(env.observation_array()[idx], env.action_mask_array()[idx])
    return actions


def act_on_env(policy: Policy, env) -> dict[str, int]:
    """Ask ``policy`` for the live banks of a ``InterbankEnv`` (one batched call); a
    ``central_bank`` agent is left to the env's ``central_bank_policy``."""
    banks = [a for a in env.agents if a in env.agent_index]
    idx = np.fromiter((env.agent_index[a] for a in banks), dtype=np.int64, count=len(banks))
    actions = policy.act(env.observation_array()[idx], env.action_mask_array()[idx])
    return dict(zip(banks, actions.tolist()))

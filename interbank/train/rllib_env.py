"""The interbank env for RLlib: RLlib's own ``ParallelPettingZooEnv`` over a thin adaptor.

The adaptor renames the observation keys to the ones RLlib's action-masking module
reads (``observations``, ``action_mask`` as float32). Nothing else is needed: the
env's ``infos`` are numeric, and at the time limit the env truncates every bank
that acted, one defaulting on the last step included, so RLlib's ``__all__``
flags see the end of every episode.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces
from pettingzoo.utils.wrappers import BaseParallelWrapper

from interbank.config import parse_env_config
from interbank.envs import parallel_env
from interbank.sim.actions import N_ACTIONS


class RllibAdaptor(BaseParallelWrapper):
    """PettingZoo parallel wrapper: {"observations", "action_mask"} observations."""

    def __init__(self, env) -> None:
        super().__init__(env)
        inner = env.observation_space(env.possible_agents[0])["observation"]
        self._space = spaces.Dict({"observations": inner, "action_mask": spaces.Box(0.0, 1.0, (N_ACTIONS,), np.float32)})

    def observation_space(self, agent: str) -> spaces.Space:
        return self._space

    @staticmethod
    def _map(obs: dict[str, Any]) -> dict[str, Any]:
        return {a: {"observations": o["observation"], "action_mask": o["action_mask"].astype(np.float32)} for a, o in obs.items()}

    def reset(self, seed: int | None = None, options: dict | None = None):
        obs, infos = self.env.reset(seed=seed, options=options)
        return self._map(obs), infos

    def step(self, actions: dict[str, Any]):
        obs, rewards, terms, truncs, infos = self.env.step(actions)
        return self._map(obs), rewards, terms, truncs, infos


def env_class():
    """RLlib's ``ParallelPettingZooEnv`` built from an env_config (a resolved interbank EnvConfig as a
    dict). Passed to RLlib as a class, so no name registry has to reach the cluster's workers."""
    from ray.rllib.env.wrappers.pettingzoo_env import ParallelPettingZooEnv

    class InterbankRllibEnv(ParallelPettingZooEnv):
        def __init__(self, config: dict[str, Any] | None = None) -> None:
            cfg = parse_env_config(dict(config or {}), source="rllib env_config")
            super().__init__(RllibAdaptor(parallel_env(cfg)))

    return InterbankRllibEnv

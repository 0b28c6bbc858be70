"""A stable-baselines3 VecEnv for a lone deviator: one learning bank per env copy, every other
bank on a frozen profile.

Used to train a best response to a profile (``interbank.train.best_response``): the profile
under test (a trained policy or a rule, any ``interbank.policies.base.Policy``) plays every
live bank of each copy; one bank of the copy, its *seat*, plays the learner's action instead.
So each copy is one slot (``num_envs = n_envs``), unlike ``BankVecEnv`` where every bank is a
slot of one shared policy.

- The seat rotates: each time a copy resets it takes the next bank in turn (copy k starts at
  bank ``k mod n_banks``), so the learner meets every seat of the network (big and small
  banks, core and periphery) rather than learning one seat's quirks.
- The learner's episode ends when its bank defaults (``done``, no bootstrapping) or when time
  runs out (``done`` with ``TimeLimit.truncated``, so PPO bootstraps from the terminal value);
  either way the copy resets at once, with the next seat. Nothing is padded: every sample is
  a live decision of the learning bank.
- ``action_masks()`` returns the seat's mask per copy (sb3-contrib's MaskablePPO reads it
  through ``env_method("action_masks")`` and ``has_attr("action_masks")``).
- Each copy has its own copy of the profile (``copy.deepcopy``), reset with the episode's seed
  as ``rollout`` does, so a rule with state or a random generator behaves as in evaluation.
- Copy k is seeded ``seed + k`` at the first reset and continues its own seed sequence after.
"""

from __future__ import annotations

import copy
from collections import deque
from typing import Any

import numpy as np
from gymnasium import spaces

from interbank.config import EnvConfig
from interbank.envs import parallel_env
from interbank.envs.interbank_env import InterbankEnv
from interbank.envs.observation import N_FEATURES
from interbank.policies.base import Policy, batch_actions
from interbank.sim.actions import N_ACTIONS
from interbank.train.vec_env import SlotVecEnv


class DeviatorVecEnv(SlotVecEnv):
    """``n_envs`` copies of the interbank env; in each, bank ``seat[k]`` is the learner and the
    rest play ``profile``. ``episode_stats`` keeps the learner's finished episodes (return,
    length, defaulted, seat)."""

    def __init__(self, config: EnvConfig, profile: Policy, n_envs: int, seed: int = 0) -> None:
        self.envs: list[InterbankEnv] = [parallel_env(config) for _ in range(n_envs)]
        self.profiles: list[Policy] = [copy.deepcopy(profile) for _ in range(n_envs)]
        self.n_banks = config.n_banks
        self.seed_base = seed
        obs_space = self.envs[0].observation_space(self.envs[0].possible_agents[0])["observation"]
        super().__init__(n_envs, obs_space, spaces.Discrete(N_ACTIONS))
        self.seat = np.arange(n_envs, dtype=np.int64) % self.n_banks
        self._next_seat = n_envs
        self._obs = np.zeros((n_envs, N_FEATURES), np.float32)
        self._masks = np.zeros((n_envs, N_ACTIONS), bool)
        self._actions = np.zeros(n_envs, np.int64)
        self._returns = np.zeros(n_envs)
        self._lengths = np.zeros(n_envs, np.int64)
        self._started = False
        self.episode_stats: deque[dict[str, float]] = deque(maxlen=1000)
        self.episodes_finished = 0

    # --------------------------------------------------------------- helpers
    def _observe(self, k: int) -> None:
        env, i = self.envs[k], self.seat[k]
        self._obs[k] = env.observation_array()[i]
        self._masks[k] = env.action_mask_array()[i].astype(bool)

    def _reset_copy(self, k: int, seed: int | None, first: bool = False) -> None:
        env = self.envs[k]
        if not first:
            self.seat[k] = self._next_seat % self.n_banks
            self._next_seat += 1
        env.reset(seed=seed)
        self.profiles[k].reset(env.system.seed)
        self._returns[k] = 0.0
        self._lengths[k] = 0
        self._observe(k)

    # ---------------------------------------------------------------- VecEnv
    def reset(self) -> np.ndarray:
        for k in range(self.num_envs):
            self._reset_copy(k, self._copy_seed(k), first=not self._started)
        self._started = True
        self._reset_seeds()
        return self._obs.copy()

    def step_wait(self):
        n = self.num_envs
        rewards = np.zeros(n, np.float32)
        dones = np.zeros(n, bool)
        infos: list[dict[str, Any]] = [{} for _ in range(n)]
        for k, env in enumerate(self.envs):
            i = int(self.seat[k])
            actions = batch_actions(self.profiles[k], env)
            actions[i] = self._actions[k]
            batch = env.step_batch(actions)
            reward = float(batch.rewards[i])
            rewards[k] = reward
            self._returns[k] += reward
            self._lengths[k] += 1
            defaulted = bool(batch.terminated[i])
            if defaulted or env.system.done:
                infos[k] = {
                    "terminal_observation": env.observation_array()[i].copy(),
                    "TimeLimit.truncated": bool(batch.truncated and not defaulted),
                    "episode": {"r": float(self._returns[k]), "l": int(self._lengths[k])},
                }
                self.episode_stats.append({"episode_return": float(self._returns[k]), "steps": float(self._lengths[k]),
                                           "defaulted": float(defaulted), "seat": float(i)})
                self.episodes_finished += 1
                dones[k] = True
                self._reset_copy(k, None)
            else:
                self._observe(k)
        return self._obs.copy(), rewards, dones, infos

    def env_method(self, method_name: str, *method_args, indices=None, **method_kwargs) -> list[Any]:
        if method_name == "action_masks":
            return self._mask_rows(self.action_masks(), indices)
        return [getattr(self.envs[i], method_name)(*method_args, **method_kwargs) for i in self._get_indices(indices)]

    def get_attr(self, attr_name: str, indices=None) -> list[Any]:
        return [getattr(self.envs[i], attr_name) for i in self._get_indices(indices)]

    def set_attr(self, attr_name: str, value: Any, indices=None) -> None:
        for i in self._get_indices(indices):
            setattr(self.envs[i], attr_name, value)

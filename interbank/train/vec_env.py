"""A stable-baselines3 VecEnv in which every bank of every env copy is one slot.

Why not SuperSuit: its wrappers drop action masks, do not mark time-limit
truncation, and its black-death padding lets a learner train on dead agents.
Here:

- ``action_masks()`` returns one mask per slot (sb3-contrib's MaskablePPO reads it);
- a bank that defaults ends its slot's episode (``done``, ``terminal_observation``);
  its slot then carries *padding* (zero observation, HOLD-only mask, zero reward)
  until the copy's episode ends, and ``acted_padding`` tells the rollout buffer
  which samples to drop, so nothing is learnt from a dead bank;
- when time runs out, surviving slots are ``done`` with ``TimeLimit.truncated``
  (so PPO bootstraps from the terminal value), and the copy resets;
- when every bank of a copy is gone, the copy resets at once;
- with an opponent pool attached (``attach_pool``, ``interbank.train.pool``) some banks of each
  copy play a frozen snapshot, drawn per episode; their samples are flagged in ``acted_padding``
  too, so only learner banks train;
- with ``global_state`` every observation carries the system summary a central critic reads
  (``interbank.train.critic``) after the bank's own features.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from typing import Any

import numpy as np
from gymnasium import spaces
from stable_baselines3.common.vec_env.base_vec_env import VecEnv

from interbank.config import EnvConfig
from interbank.envs import parallel_env
from interbank.envs.interbank_env import InterbankEnv
from interbank.envs.observation import N_FEATURES
from interbank.sim.actions import HOLD, N_ACTIONS, PRIORITIES


class UnwrappedVecEnv(VecEnv):
    """A VecEnv of bank slots with no wrappers and no images, indices as SB3 gives them."""

    def env_is_wrapped(self, wrapper_class, indices=None) -> list[bool]:
        return [False] * len(list(self._get_indices(indices)))

    def _get_indices(self, indices) -> Sequence[int]:
        if indices is None:
            return range(self.num_envs)
        if isinstance(indices, int):
            return [indices]
        return indices

    def get_images(self):  # pragma: no cover - no rgb rendering
        return [None] * self.num_envs

    def _mask_rows(self, masks: np.ndarray, indices) -> list[np.ndarray]:
        """``env_method("action_masks")``'s answer: the mask row of each slot asked for (sb3-contrib's
        ``get_action_masks`` stacks them). For all slots ``list(masks)``, which iterates in C: at
        1,600 slots 0.6 ms a rollout step instead of 2.1 ms for indexing row by row."""
        if indices is None:
            return list(masks)
        return [masks[i] for i in self._get_indices(indices)]


class SlotVecEnv(UnwrappedVecEnv):
    """What every VecEnv of interbank slots shares: env copies in ``envs`` seeded ``seed_base + k``
    at the first reset (or as ``seed()`` asked), actions and masks per slot (``_actions``,
    ``_masks``)."""

    envs: list[InterbankEnv]
    seed_base: int
    _started: bool
    _masks: np.ndarray

    def _copy_seed(self, k: int) -> int | None:
        """The seed of copy k's next reset: the one ``seed()`` set, else ``seed_base + k`` the first
        time, else None (the copy continues its own seed sequence)."""
        if self._seeds and self._seeds[k] is not None:
            return self._seeds[k]
        return self.seed_base + k if not self._started else None

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = np.asarray(actions, dtype=np.int64).reshape(-1)

    def action_masks(self) -> np.ndarray:
        return self._masks.copy()

    def close(self) -> None:
        for env in self.envs:
            env.close()

    def has_attr(self, attr_name: str) -> bool:
        return attr_name == "action_masks" or hasattr(self.envs[0], attr_name)



class BankVecEnv(SlotVecEnv):
    """``n_envs`` copies of the interbank env; ``num_envs = n_envs * n_banks`` bank slots.

    Copy k is seeded ``seed + k`` at the first reset and continues its own seed
    sequence afterwards, so a training run is reproducible.
    """

    def __init__(self, config: EnvConfig, n_envs: int, seed: int = 0, priority_factory=None,
                 global_state: bool = False) -> None:
        """``priority_factory(k)`` gives copy k its priority model (default: the config's);
        ``global_state`` appends the system summary (``interbank.train.critic``) to every
        observation, for a central critic."""
        self.envs: list[InterbankEnv] = [
            parallel_env(config, priority_model=priority_factory(k) if priority_factory else None) for k in range(n_envs)
        ]
        self.n_banks = config.n_banks
        self.seed_base = seed
        self.global_state = global_state
        obs_space = self.envs[0].observation_space(self.envs[0].possible_agents[0])["observation"]
        width = N_FEATURES
        if global_state:
            from interbank.train.critic import N_GLOBAL

            width += N_GLOBAL
            obs_space = spaces.Box(np.concatenate([obs_space.low, np.full(N_GLOBAL, -5.0, np.float32)]),
                                   np.concatenate([obs_space.high, np.full(N_GLOBAL, 5.0, np.float32)]), dtype=np.float32)
        super().__init__(n_envs * self.n_banks, obs_space, spaces.Discrete(N_ACTIONS))
        n = self.num_envs
        self._obs = np.zeros((n, width), np.float32)
        self._masks = np.zeros((n, N_ACTIONS), bool)
        self.padding = np.zeros(n, bool)
        self.acted_padding = np.zeros(n, bool)
        self._actions = np.full(n, HOLD, np.int64)
        self._returns = np.zeros(n)
        self._lengths = np.zeros(n, np.int64)
        self._prio_return = np.zeros((n_envs, len(PRIORITIES)))
        self._prio_count = np.zeros((n_envs, len(PRIORITIES)))
        self._started = False
        self.episode_stats: deque[dict[str, float]] = deque(maxlen=1000)
        self.episodes_finished = 0
        # the opponent pool (``attach_pool``): per copy, the snapshot its pool banks play this episode
        self.pool = None
        self.pool_slot = np.zeros(n, bool)
        self.opponent: list[tuple[int, Any] | None] = [None] * n_envs
        self.opponent_log: deque[tuple[int, int, int]] = deque(maxlen=10_000)  # (copy, episodes finished, snapshot step)
        self._pool_banks = 0
        self._pool_rng: np.random.Generator | None = None

    def attach_pool(self, pool, banks: int, seed: int) -> None:
        """From the next reset of each copy on, ``banks`` of its banks (drawn per episode) play a
        snapshot drawn from ``pool`` (an ``OpponentPool``) and are left out of training."""
        self.pool = pool
        self._pool_banks = banks
        self._pool_rng = np.random.default_rng([seed, 0x9001])

    # --------------------------------------------------------------- helpers
    def _slots(self, k: int) -> slice:
        return slice(k * self.n_banks, (k + 1) * self.n_banks)

    def _observe(self, env: InterbankEnv) -> np.ndarray:
        """float32[n_banks, width]: the banks' observations, with the system summary when ``global_state``."""
        obs = env.observation_array()
        if not self.global_state:
            return obs
        from interbank.train.critic import global_summary

        summary = global_summary(env)
        return np.concatenate([obs, np.broadcast_to(summary, (obs.shape[0], summary.size))], axis=1)

    def _draw_opponents(self, k: int) -> None:
        s = self._slots(k)
        self.pool_slot[s] = False
        self.opponent[k] = None
        if self.pool is None or not self.pool.snapshots or self._pool_banks == 0:
            return
        step, policy = self.pool.sample(self._pool_rng)
        banks = self._pool_rng.choice(self.n_banks, size=self._pool_banks, replace=False)
        self.pool_slot[s.start + banks] = True
        self.opponent[k] = (step, policy)
        self.opponent_log.append((k, self.episodes_finished, step))

    def _reset_copy(self, k: int, seed: int | None) -> None:
        env = self.envs[k]
        env.reset(seed=seed)
        s = self._slots(k)
        self._obs[s] = self._observe(env)
        self._masks[s] = env.action_mask_array().astype(bool)
        self._draw_opponents(k)
        self.padding[s] = False
        self._returns[s] = 0.0
        self._lengths[s] = 0
        self._prio_return[k] = 0.0
        self._prio_count[k] = 0.0

    def _episode_stats(self, k: int) -> dict[str, float]:
        system = self.envs[k].system
        s = self._slots(k)
        learners = ~self.pool_slot[s]
        stats = {
            "episode_return": float(self._returns[s][learners].mean()),
            "default_rate": float(system.defaulted.mean()),
            "cascade_size": float(np.mean(system.cascades)) if system.cascades else 0.0,
            "total_capital_ratio": system.total_capital() / float(system.capital0.sum()),
            "steps": float(system.t),
        }
        per = np.divide(self._prio_return[k], self._prio_count[k], out=np.full(3, np.nan), where=self._prio_count[k] > 0)
        for name, value in zip(PRIORITIES, per.tolist()):
            stats[f"return_{name.lower()}"] = value
        if self.pool is not None:
            opp = self.pool_slot[s]
            stats["pool_return"] = float(self._returns[s][opp].mean()) if opp.any() else float("nan")
        return stats

    # ---------------------------------------------------------------- VecEnv
    def reset(self) -> np.ndarray:
        for k in range(len(self.envs)):
            self._reset_copy(k, self._copy_seed(k))
        self._started = True
        self._reset_seeds()
        self.acted_padding[:] = False
        return self._obs.copy()

    def step_wait(self):
        self.acted_padding = self.padding | self.pool_slot  # neither trains
        batches = [env.step_batch(self._copy_actions(k, env)) for k, env in enumerate(self.envs)]
        # every copy's arrays at once, in slot order
        acted = np.concatenate([b.acted for b in batches])
        earned = np.concatenate([b.rewards for b in batches])
        paid = np.where(acted, earned, 0.0)
        rewards = paid.astype(np.float32)
        self._returns += paid
        self._lengths += acted
        self._add_priority_returns(acted, earned, np.concatenate([b.priority for b in batches]))
        np.concatenate([self._observe(env) for env in self.envs], out=self._obs)
        np.concatenate([env.action_mask_array() for env in self.envs], out=self._masks, casting="unsafe")
        np.logical_not(np.concatenate([env.system.active for env in self.envs]), out=self.padding)
        over = [env.system.done for env in self.envs]
        terminated = np.concatenate([b.terminated for b in batches])
        ended = terminated | (acted & np.repeat(over, self.n_banks))
        dones = ended.copy()
        infos: list[dict[str, Any]] = [{} for _ in range(self.num_envs)]
        for i in np.flatnonzero(ended).tolist():
            info = infos[i]
            info["terminal_observation"] = self._obs[i].copy()
            info["TimeLimit.truncated"] = bool(batches[i // self.n_banks].truncated and not terminated[i])
            info["episode"] = {"r": float(self._returns[i]), "l": int(self._lengths[i])}
        for k in np.flatnonzero(over).tolist():
            self.episode_stats.append(self._episode_stats(k))
            self.episodes_finished += 1
            dones[self._slots(k)] = True  # padding slots restart too
            self._reset_copy(k, None)
        # padding: zero observation, only HOLD
        pad = self.padding
        if pad.any():
            self._obs[pad] = 0.0
            self._masks[pad] = False
            self._masks[pad, HOLD] = True
        return self._obs.copy(), rewards, dones, infos

    def _copy_actions(self, k: int, env: InterbankEnv) -> np.ndarray:
        """Copy k's actions: the learner's, with its pool banks' replaced by their snapshot's."""
        s = self._slots(k)
        actions = self._actions[s]
        if self.opponent[k] is not None:
            actions = actions.copy()
            banks = np.flatnonzero(self.pool_slot[s] & ~self.padding[s])
            if banks.size:
                own = env.observation_array()[banks]
                actions[banks] = self.opponent[k][1].act(own, env.action_mask_array()[banks])
        return actions

    def _add_priority_returns(self, acted: np.ndarray, rewards: np.ndarray, priority: np.ndarray) -> None:
        """Add this step's rewards of the banks that acted to their copy's sum per priority in force.
        One ``np.add.at`` over every copy: within a copy it adds bank after bank, as one call per
        copy did, so the sums are the same to the last bit."""
        slots = np.flatnonzero(acted)
        copy, prio = slots // self.n_banks, priority[slots]
        np.add.at(self._prio_return, (copy, prio), rewards[slots])
        cell = copy * len(PRIORITIES) + prio
        self._prio_count += np.bincount(cell, minlength=self._prio_count.size).reshape(self._prio_count.shape)

    def env_method(self, method_name: str, *method_args, indices=None, **method_kwargs) -> list[Any]:
        if method_name == "action_masks":
            return self._mask_rows(self.action_masks(), indices)
        return [getattr(env, method_name)(*method_args, **method_kwargs) for env in self.envs]

    def get_attr(self, attr_name: str, indices=None) -> list[Any]:
        idx = self._get_indices(indices)
        return [getattr(self.envs[i // self.n_banks], attr_name) for i in idx]

    def set_attr(self, attr_name: str, value: Any, indices=None) -> None:
        for env in self.envs:
            setattr(env, attr_name, value)

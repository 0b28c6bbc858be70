"""The interbank env for RLlib: a gymnasium vector env whose sub-envs are single-bank slots.

RLlib's single-agent env runners step a ``gymnasium.vector.VectorEnv`` as one batch: one
module forward pass for all slots, no multi-agent episode bookkeeping. Here each bank of
each env copy is one slot (the idea of ``BankVecEnv`` for stable-baselines3), every copy is
stepped as one numpy batch, and the shared policy is simply RLlib's single module.

Observations are ``{"observations": float32[F], "action_mask": float32[5], "live": float32[1]}``
(the keys RLlib's action-masking module reads, plus ``live``). Gymnasium's next-step autoreset
is followed slot by slot:

- a bank that defaults ends its slot's episode (``terminated``); the slot then delivers a
  *padding* reset observation (zeros, only HOLD allowed, ``live`` 0) and carries padding,
  reward 0, until its copy's episode ends (``truncated``). ``PaddingLossMask`` removes every
  padding sample from the loss and ``BankDecisions`` counts only live ones, so nothing is
  learnt from, or counted for, a gone bank;
- when the copy's time runs out (or no bank is left) every slot is done, and at the next step
  the copy resets and all its slots deliver their reset observations;
- a padding episode that had only just begun when its copy ended (a bank defaulting one
  step before the end) is truncated at the reset step, so that slot starts one step late:
  its bank holds, unrecorded, for the copy's first step.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space
from pettingzoo.utils.wrappers import BaseParallelWrapper

from interbank.config import EnvConfig, parse_env_config
from interbank.envs import parallel_env
from interbank.envs.observation import N_FEATURES
from interbank.sim.actions import HOLD, N_ACTIONS

LIVE, PENDING, PAD = 0, 1, 2  # slot phases: a bank acting; done last step (deliver a reset obs); padding
PAD_MASK = np.eye(N_ACTIONS, dtype=np.float32)[HOLD]


def slot_space(inner: spaces.Box) -> spaces.Dict:
    return spaces.Dict({
        "observations": inner,
        "action_mask": spaces.Box(0.0, 1.0, (N_ACTIONS,), np.float32),
        "live": spaces.Box(0.0, 1.0, (1,), np.float32),
    })


class BankSlotsVectorEnv(VectorEnv):
    """``copies`` interbank env copies; ``num_envs = copies * n_banks`` single-bank slots.

    Copy k is seeded ``seed + k`` at a seeded reset and continues its own seed sequence after.
    ``step`` takes int[num_envs] actions and returns batched dict observations, rewards,
    terminations and truncations over all slots (gymnasium's next-step autoreset)."""

    metadata: ClassVar[dict[str, Any]] = {"autoreset_mode": AutoresetMode.NEXT_STEP}

    def __init__(self, config: EnvConfig, copies: int) -> None:
        self.envs = [parallel_env(config) for _ in range(copies)]
        self.n_banks = config.n_banks
        self.num_envs = copies * self.n_banks
        inner = self.envs[0].observation_space(self.envs[0].possible_agents[0])["observation"]
        self.single_observation_space = slot_space(inner)
        self.single_action_space = spaces.Discrete(N_ACTIONS)
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        n = self.num_envs
        self._obs = np.zeros((n, N_FEATURES), np.float32)
        self._mask = np.zeros((n, N_ACTIONS), np.float32)
        self._live = np.zeros((n, 1), np.float32)
        self.phase = np.full(n, LIVE, np.int8)
        self.reset_due = np.zeros(copies, bool)

    def _slots(self, k: int) -> slice:
        return slice(k * self.n_banks, (k + 1) * self.n_banks)

    def _observe(self, k: int) -> None:
        """Write copy k's observations into its slots: the bank's own while it is live, padding
        (zeros, only HOLD, ``live`` 0) once it is gone."""
        env, s = self.envs[k], self._slots(k)
        active = env.system.active
        self._obs[s] = np.where(active[:, None], env.observation_array(), 0.0)
        self._mask[s] = env.action_mask_array()
        self._mask[s][~active] = PAD_MASK
        self._live[s, 0] = active

    def _pad(self, k: int, which: np.ndarray) -> None:
        s = self._slots(k)
        self._obs[s][which] = 0.0
        self._mask[s][which] = PAD_MASK
        self._live[s][which] = 0.0

    def _result(self) -> dict[str, np.ndarray]:
        return {"observations": self._obs.copy(), "action_mask": self._mask.copy(), "live": self._live.copy()}

    def reset(self, *, seed: int | list[int] | None = None, options: dict | None = None):
        for k, env in enumerate(self.envs):
            copy_seed = (seed[k] if isinstance(seed, list) else seed + k) if seed is not None else None
            env.reset(seed=copy_seed)
            self._observe(k)
        self.phase[:] = LIVE
        self.reset_due[:] = False
        return self._result(), {}

    def step(self, actions: np.ndarray):
        actions = np.asarray(actions, dtype=np.int64).reshape(self.num_envs)
        rewards = np.zeros(self.num_envs, np.float32)
        terminated = np.zeros(self.num_envs, bool)
        truncated = np.zeros(self.num_envs, bool)
        for k, env in enumerate(self.envs):
            s = self._slots(k)
            phase = self.phase[s]
            if self.reset_due[k]:
                env.reset()
                self.reset_due[k] = False
                pending = phase == PENDING
                self._observe(k)
                late = ~pending  # a padding episode that had just begun: end it now, start late
                self._pad(k, late)
                truncated[s] = late
                phase[:] = np.where(pending, LIVE, PENDING)
                continue
            acting = phase == LIVE
            batch = env.step_batch(np.where(acting, actions[s], HOLD))
            over = bool(env.system.done)
            rewards[s] = np.where(acting & batch.acted, batch.rewards, 0.0)
            gone = acting & (batch.terminated | ~batch.acted)  # defaulted (or deleted before the step)
            ended = gone | (acting & over)
            terminated[s] = gone
            truncated[s] = (ended & ~gone) | (over & (phase == PAD))
            self._observe(k)  # a pending slot's reset observation is its bank's (late start) or padding
            pending = phase == PENDING
            new_phase = phase.copy()
            new_phase[ended] = PENDING
            new_phase[pending] = np.where(env.system.active[pending], LIVE, PAD)
            new_phase[(phase == PAD) & over] = PENDING
            phase[:] = new_phase
            if over:
                self.reset_due[k] = True
        return self._result(), rewards, terminated, truncated, {}

    def close(self, **kwargs: Any) -> None:
        for env in getattr(self, "envs", ()):
            env.close()


def env_class():
    """The class RLlib builds per env runner (``gym_env_vectorize_mode="vector_entry_point"``): called
    with the env_config (a resolved interbank EnvConfig as a dict) plus ``num_envs``, a multiple of
    n_banks. Passed as a class, so no name registry has to reach a cluster's workers."""

    class InterbankSlots(BankSlotsVectorEnv):
        def __init__(self, config: dict[str, Any] | None = None) -> None:
            data = dict(config or {})
            num_envs = int(data.pop("num_envs", 0) or 0)
            cfg = parse_env_config(data, source="rllib env_config")
            if num_envs <= 0 or num_envs % cfg.n_banks:
                raise ValueError(f"num_envs {num_envs} is not a positive multiple of n_banks {cfg.n_banks}")
            super().__init__(cfg, num_envs // cfg.n_banks)

    return InterbankSlots


class RllibAdaptor(BaseParallelWrapper):
    """PettingZoo parallel wrapper for users of RLlib's own ``ParallelPettingZooEnv``
    (docs/compat/rllib_ppo.py): observations renamed to ``{"observations", "action_mask"}``
    (float32), the keys RLlib's action-masking module reads. ``interbank train --backend
    rllib`` does not use it: it steps ``BankSlotsVectorEnv`` above."""

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


BANKS_POLICY, CENTRAL_BANK_POLICY = "banks", "central_bank"  # the two RLlib policies (module ids)


def policy_of(agent_id: str, *args: Any, **kwargs: Any) -> str:
    """RLlib's policy mapping: every ``bank_*`` -> ``banks`` (one shared policy), ``central_bank``
    -> ``central_bank``."""
    return CENTRAL_BANK_POLICY if agent_id == CENTRAL_BANK_POLICY else BANKS_POLICY


def two_policy_env_class():
    """The class RLlib builds per env runner for two policies (``PPOConfig().environment(...)``):
    an ``InterbankMultiAgentEnv`` over the env_config (a resolved interbank EnvConfig as a dict; the
    central bank agent is turned on). A class, so no name registry has to reach a cluster's workers;
    built here because ``MultiAgentEnv`` needs Ray."""
    from ray.rllib.env.multi_agent_env import MultiAgentEnv

    from interbank.config import resolve_env_config

    class InterbankMultiAgentEnv(MultiAgentEnv):
        """The PettingZoo parallel env with the ``central_bank`` agent, as RLlib's ``MultiAgentEnv``:
        agents ``bank_0 ... bank_{N-1}`` and ``central_bank`` with their own spaces; observations
        ``{"observations": float32[F], "action_mask": float32[A]}`` (the keys of RLlib's
        action-masking module; F, A: 27, 5 for a bank, 21, 9 for the central bank). A bank that
        defaults is terminated and gets no further action; ``__all__`` ends with the episode."""

        def __init__(self, config: dict[str, Any] | None = None) -> None:
            super().__init__()
            cfg = resolve_env_config(parse_env_config(dict(config or {}), source="rllib env_config"),
                                     **{"central_bank.agent": True})
            self.env = parallel_env(cfg)
            self.possible_agents = list(self.env.possible_agents)
            self.agents = list(self.possible_agents)
            self.observation_spaces = {a: self._space(a) for a in self.possible_agents}
            self.action_spaces = {a: self.env.action_space(a) for a in self.possible_agents}
            self._episode = 0

        def _space(self, agent: str) -> spaces.Dict:
            inner = self.env.observation_space(agent)
            n = self.env.action_space(agent).n
            return spaces.Dict({"observations": inner["observation"], "action_mask": spaces.Box(0.0, 1.0, (n,), np.float32)})

        @staticmethod
        def _map(obs: dict[str, Any]) -> dict[str, Any]:
            return {a: {"observations": o["observation"], "action_mask": o["action_mask"].astype(np.float32)} for a, o in obs.items()}

        def reset(self, *, seed: int | None = None, options: dict | None = None):
            obs, infos = self.env.reset(seed=seed, options=options)
            self.agents = list(self.env.agents)
            return self._map(obs), infos

        def step(self, action_dict: dict[str, Any]):
            live = set(self.env.agents)
            obs, rewards, terms, truncs, infos = self.env.step({a: act for a, act in action_dict.items() if a in live})
            self.agents = list(self.env.agents)  # who acts next (nobody once the episode is over)
            over = not self.agents
            truncated = bool(over and any(truncs.values()))
            terms = dict(terms, __all__=over and not truncated)
            truncs = dict(truncs, __all__=truncated)
            # every agent of the step gets its observation, a bank that just defaulted its last one
            return self._map(obs), rewards, terms, truncs, infos

    return InterbankMultiAgentEnv

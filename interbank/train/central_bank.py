"""Train the banks and the central bank by alternating best responses (issue 21, item 3).

Phase 1: the banks' shared policy learns under a rule central bank (the ordinary trainer,
``interbank.train.run.train``, on the training config with ``central_bank.agent`` on and
``central_bank.rule`` set). Phase 2: with the banks frozen on that policy, the central bank's
policy learns with MaskablePPO on a single-agent Gymnasium env (``CentralBankGymEnv``: its
observation, its masked moves, its reward). The run folder holds both policies, each as a safe
checkpoint (``policy.safetensors`` + ``policy.json``, nothing pickled)::

    RUN/curriculum.json         what ran: the phases, the rule, the budgets, the seed
    RUN/banks/                  phase 1: an ordinary run folder (config.yaml, checkpoints/<step>/)
    RUN/central_bank/checkpoints/<step>/   phase 2: the central bank's policy

``interbank.policies.load_policy(RUN / "banks")`` and
``interbank.policies.central_bank.load_central_bank_policy(RUN / "central_bank")`` load them;
``env.central_bank_policy = that`` plays the learned central bank. One round of each phase
(more rounds, and resuming phase 2, are not built yet).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import yaml

from interbank.config import ConfigError, EnvConfig, resolve_env_config
from interbank.envs.central_bank_observation import CB_HIGH, CB_LOW, N_CB_FEATURES
from interbank.envs.interbank_env import InterbankEnv
from interbank.policies.base import Policy, batch_actions
from interbank.policies.central_bank import central_bank_metadata
from interbank.run_folder import write_atomic, write_checkpoint
from interbank.sim.central_bank import N_CB_ACTIONS

CURRICULUM = "curriculum.json"


class CentralBankGymEnv(gym.Env):
    """The central bank's own single-agent env: the banks play a frozen ``bank_policy``.

    Observation ``Box(float32, (N_CB_FEATURES,))``; action ``Discrete(9)`` with
    ``action_masks()`` (MaskablePPO's convention); reward per step: the central bank's reward
    (welfare change minus weighted losses) x ``reward_scale`` (welfare moves by about 1e-3 a
    step). Episodes are seeded from ``seed`` one after another."""

    metadata: dict[str, Any] = {"render_modes": []}

    def __init__(self, env_cfg: EnvConfig, bank_policy: Policy, seed: int = 0, reward_scale: float = 100.0) -> None:
        if not env_cfg.central_bank.agent:
            env_cfg = resolve_env_config(env_cfg, **{"central_bank.agent": True})
        self.env = InterbankEnv(env_cfg)
        self.bank_policy = bank_policy
        self.reward_scale = reward_scale
        self.observation_space = gym.spaces.Box(CB_LOW, CB_HIGH, (N_CB_FEATURES,), np.float32)
        self.action_space = gym.spaces.Discrete(N_CB_ACTIONS)
        self._seeds = np.random.default_rng(seed)

    def reset(self, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        episode = int(seed) if seed is not None else int(self._seeds.integers(2**31))
        self.bank_policy.reset(episode)
        self.env.reset(seed=episode)
        return self.env.central_bank_agent.obs.copy(), {}

    def action_masks(self) -> np.ndarray:
        return self.env.central_bank_agent.mask.astype(bool)

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict]:
        env = self.env
        batch = env.step_batch(batch_actions(self.bank_policy, env), int(action))
        cb = batch.central_bank
        over = not env.agents
        info = {"due": int(cb.due), "invalid_action": int(cb.invalid)}
        return (env.central_bank_agent.obs.copy(), float(cb.reward) * self.reward_scale,
                over and not batch.truncated, over and batch.truncated, info)


@dataclass
class CentralBankSettings:
    """Phase 2's MaskablePPO: ``timesteps`` (central bank steps), ``n_steps``, ``batch_size``,
    ``n_epochs``, ``learning_rate``, ``ent_coef``, ``net_arch`` (hidden widths, tanh), ``seed``."""

    timesteps: int = 2048
    n_steps: int = 256
    batch_size: int = 64
    n_epochs: int = 4
    learning_rate: float = 3e-4
    ent_coef: float = 0.01
    net_arch: tuple[int, ...] = (64, 64)
    seed: int = 0


def train_central_bank(env_cfg: EnvConfig, bank_policy: Policy, out: Path, settings: CentralBankSettings) -> Path:
    """Phase 2: learn the central bank's policy against ``bank_policy``; write
    ``out/checkpoints/<step>/`` (safe files only) and return it."""
    import torch
    from sb3_contrib import MaskablePPO

    from interbank.train.run import versions

    torch.set_num_threads(1)
    s = settings
    env = CentralBankGymEnv(env_cfg, bank_policy, s.seed)
    model = MaskablePPO(
        "MlpPolicy", env, n_steps=s.n_steps, batch_size=s.batch_size, n_epochs=s.n_epochs,
        learning_rate=s.learning_rate, ent_coef=s.ent_coef, seed=s.seed, device="cpu", verbose=0,
        policy_kwargs={"net_arch": {"pi": list(s.net_arch), "vf": list(s.net_arch)}, "activation_fn": torch.nn.Tanh},
    )
    model.learn(total_timesteps=s.timesteps)
    weights = {k: v.detach().cpu().numpy() for k, v in model.policy.state_dict().items()}
    cfg = env.env.config
    meta = central_bank_metadata(list(s.net_arch), "tanh", cfg.digest(), cfg.n_banks, {
        "train": {"step": int(model.num_timesteps), "backend": "sb3", "algorithm": "maskable_ppo", "seed": s.seed,
                  "phase": 2, "against": getattr(bank_policy, "name", "bank policy")},
        "versions": versions(),
    })
    return write_checkpoint(out, int(model.num_timesteps), weights, meta)


def train_both(config_path: Path, out: Path, rule: str = "never", bank_timesteps: int | None = None,
               central_bank: CentralBankSettings | None = None, progress: bool = False,
               rule_params: dict[str, float] | None = None) -> tuple[Path, Path]:
    """Phase 1 (the banks under ``rule`` with ``rule_params``) then phase 2 into the run folder
    ``out``; returns (banks' checkpoint, central bank's)."""
    from interbank.policies.checkpoint import load_policy
    from interbank.train.config import load_train_config
    from interbank.train.run import train

    settings = central_bank or CentralBankSettings()
    if (out / CURRICULUM).exists():
        raise ConfigError(f"{out} already holds a two-policy run; choose another --out")
    base = load_train_config(config_path).model_dump(mode="json")
    cb = base.setdefault("env", {}).setdefault("central_bank", {})
    cb.update({"agent": True, "rule": rule, "rule_params": dict(rule_params or {})})
    out.mkdir(parents=True, exist_ok=True)
    phase1 = out / "banks-config.yaml"
    write_atomic(phase1, yaml.safe_dump(base, sort_keys=False))
    write_atomic(out / CURRICULUM, json.dumps({
        "scheme": "alternating best responses, one round",
        "phases": [{"phase": 1, "learns": "banks", "central_bank": rule, "folder": "banks", "timesteps": bank_timesteps},
                   {"phase": 2, "learns": "central_bank", "banks": "frozen phase 1 policy", "folder": "central_bank",
                    "settings": {**settings.__dict__, "net_arch": list(settings.net_arch)}}],
        "config": str(config_path),
    }, indent=2) + "\n")
    result = train(phase1, out / "banks", timesteps=bank_timesteps, progress=progress,
                   command=f"train_both {config_path} (phase 1)")
    banks = load_policy(result.checkpoint)
    env_cfg = EnvConfig.model_validate(base["env"])
    learned = train_central_bank(env_cfg, banks, out / "central_bank", settings)
    return result.checkpoint, learned

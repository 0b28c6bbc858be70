"""Train the banks and the central bank by alternating best responses, ``rounds`` rounds.

Round 1 is the AI Economist's two-phase curriculum (Zheng et al. 2022): the banks' shared policy
learns under a rule central bank (the ordinary trainer, ``interbank.train.run.train``, on the
training config with ``central_bank.agent`` on and ``central_bank.rule`` set), then, with the
banks frozen on that policy, the central bank's policy learns with MaskablePPO on a single-agent
Gymnasium env (``CentralBankGymEnv``: its observation, its masked moves, its reward). Each later
round continues both: the banks' run resumes (same optimizer, same run folder) under the central
bank learned in the round before, then the central bank continues from its own weights against
the banks of this round. The banks' budget is split evenly over the rounds; the central bank has
``timesteps`` per round, and its entropy bonus is annealed linearly from ``ent_coef`` to
``ent_coef_final`` over all its rounds (the planner's annealing in the AI Economist's phase 2).

The run folder holds both policies, each as a safe checkpoint (``policy.safetensors`` +
``policy.json``, nothing pickled)::

    RUN/curriculum.json         the plan (rounds, rule, budgets, settings) and the phases done
    RUN/banks/                  an ordinary run folder (config.yaml, checkpoints/<step>/): one
                                checkpoint per round, at the round's cumulative step
    RUN/central_bank/checkpoints/<step>/   the central bank's policy after each round

``interbank.policies.checkpoint.load_policy(RUN / "banks")`` and
``interbank.policies.central_bank.load_central_bank_policy(RUN / "central_bank")`` load the last
round's; ``env.central_bank_policy = that`` plays the learned central bank. ``resume=True``
(``interbank train --resume --out RUN``) continues an interrupted run: the phases done are
skipped, an interrupted banks' phase resumes from its newest checkpoint, an interrupted central
bank's phase starts again from the previous round's central bank.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import yaml

from interbank.config import MAX_SEED, ConfigError, EnvConfig, resolve_env_config
from interbank.envs.central_bank_observation import CB_HIGH, CB_LOW, N_CB_FEATURES
from interbank.envs.interbank_env import InterbankEnv
from interbank.policies.base import Policy, batch_actions
from interbank.policies.central_bank import CURRICULUM, central_bank_metadata, read_curriculum
from interbank.run_folder import load_tensors, resolve_checkpoint, write_atomic, write_checkpoint
from interbank.sim.central_bank import N_CB_ACTIONS
from interbank.train.config import ALGORITHM



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
        # (the agent reads it: integers only; None is not a move here, where the rule would decide in the env)
        batch = env.step_batch(batch_actions(self.bank_policy, env), -1 if action is None else action)
        cb = batch.central_bank
        over = not env.agents
        info = {"due": int(cb.due), "invalid_action": int(cb.invalid)}
        return (env.central_bank_agent.obs.copy(), float(cb.reward) * self.reward_scale,
                over and not batch.truncated, over and batch.truncated, info)


@dataclass
class CentralBankSettings:
    """The central bank's MaskablePPO: ``timesteps`` (central bank steps per round), ``n_steps``,
    ``batch_size``, ``n_epochs``, ``learning_rate``, ``ent_coef`` (the entropy bonus at the start),
    ``ent_coef_final`` (at the end of the last round: annealed linearly in between), ``net_arch``
    (hidden widths, tanh), ``seed``."""

    timesteps: int = 2048
    n_steps: int = 256
    batch_size: int = 64
    n_epochs: int = 4
    learning_rate: float = 3e-4
    ent_coef: float = 0.01
    net_arch: tuple[int, ...] = (64, 64)
    seed: int = 0
    ent_coef_final: float = 0.0

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "net_arch": list(self.net_arch)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "CentralBankSettings":
        return cls(**{**data, "net_arch": tuple(data["net_arch"])})


@dataclass
class EntropySchedule:
    """The entropy bonus over the central bank's whole training: ``start`` -> ``end`` linearly over
    ``total`` steps; ``done`` steps were taken in earlier rounds."""

    start: float
    end: float
    done: int
    total: int

    def at(self, steps: int) -> float:
        frac = min(1.0, (self.done + steps) / max(self.total, 1))
        return self.start + (self.end - self.start) * frac


def _annealing_callback(schedule: EntropySchedule):
    from stable_baselines3.common.callbacks import BaseCallback

    class AnnealEntropy(BaseCallback):
        """Sets the model's ``ent_coef`` before each rollout (PPO reads it at the update)."""

        def _on_rollout_start(self) -> None:
            self.model.ent_coef = schedule.at(self.model.num_timesteps)

        def _on_step(self) -> bool:
            return True

    return AnnealEntropy()


def train_central_bank(env_cfg: EnvConfig, bank_policy: Policy, out: Path, settings: CentralBankSettings,
                       init: Path | None = None, schedule: EntropySchedule | None = None,
                       round_: int = 1) -> Path:
    """One central bank phase: learn its policy against ``bank_policy`` (starting from the weights
    of the checkpoint ``init``, if given, with a fresh optimizer), the entropy bonus following
    ``schedule`` (default: ``ent_coef`` -> ``ent_coef_final`` over this phase); write
    ``out/checkpoints/<step>/`` (safe files only; the step counts this and earlier rounds) and
    return it."""
    import torch
    from sb3_contrib import MaskablePPO

    from interbank.train.run import versions

    torch.set_num_threads(1)
    s = settings
    schedule = schedule or EntropySchedule(s.ent_coef, s.ent_coef_final, 0, s.timesteps)
    env = CentralBankGymEnv(env_cfg, bank_policy, s.seed + 1000 * (round_ - 1))
    # (a round's seed wraps within what numpy's legacy seeding takes: stable-baselines3 seeds with it)
    model = MaskablePPO(
        "MlpPolicy", env, n_steps=s.n_steps, batch_size=s.batch_size, n_epochs=s.n_epochs,
        learning_rate=s.learning_rate, ent_coef=schedule.at(0), seed=(s.seed + round_ - 1) % (MAX_SEED + 1), device="cpu", verbose=0,
        policy_kwargs={"net_arch": {"pi": list(s.net_arch), "vf": list(s.net_arch)}, "activation_fn": torch.nn.Tanh},
    )
    if init is not None:
        weights = load_tensors(resolve_checkpoint(init) / "policy.safetensors")
        own = model.policy.state_dict()
        missing = [k for k in own if k not in weights or tuple(weights[k].shape) != tuple(own[k].shape)]
        if missing:
            raise ConfigError(f"{init}: the central bank's weights do not fit its net_arch ({missing[0]})")
        model.policy.load_state_dict({k: torch.from_numpy(np.array(weights[k])) for k in own})
    model.learn(total_timesteps=s.timesteps, callback=_annealing_callback(schedule))
    weights = {k: v.detach().cpu().numpy() for k, v in model.policy.state_dict().items()}
    cfg = env.env.config
    step = schedule.done + int(model.num_timesteps)
    meta = central_bank_metadata(list(s.net_arch), "tanh", cfg.digest(), cfg.n_banks, {
        "train": {"step": step, "backend": "sb3", "algorithm": ALGORITHM["sb3"], "seed": s.seed,
                  "round": round_, "ent_coef": [schedule.at(0), schedule.at(int(model.num_timesteps))],
                  "against": getattr(bank_policy, "name", "bank policy")},
        "versions": versions(),
    })
    return write_checkpoint(out, step, weights, meta)


def _plan(config_path: Path, rule: str, rule_params: dict[str, float], rounds: int, bank_total: int,
          settings: CentralBankSettings) -> dict[str, Any]:
    per_round = [bank_total * (r + 1) // rounds for r in range(rounds)]
    phases: list[dict[str, Any]] = []
    for r in range(1, rounds + 1):
        phases.append({"round": r, "phase": 1, "learns": "banks", "folder": "banks", "until_step": per_round[r - 1],
                       "central_bank": rule if r == 1 else f"learned, round {r - 1}"})
        phases.append({"round": r, "phase": 2, "learns": "central_bank", "folder": "central_bank",
                       "until_step": settings.timesteps * r, "banks": f"frozen, round {r}"})
    return {
        "scheme": "alternating best responses" + (", one round" if rounds == 1 else f", {rounds} rounds"),
        "rounds": rounds, "rule": rule, "rule_params": dict(rule_params), "bank_timesteps": bank_total,
        "central_bank": settings.as_json(), "config": str(config_path), "phases": phases, "done": [],
    }


def train_both(config_path: Path | None, out: Path, rule: str = "never", bank_timesteps: int | None = None,
               central_bank: CentralBankSettings | None = None, progress: bool = False,
               rule_params: dict[str, float] | None = None, rounds: int = 1, resume: bool = False,
               seed: int | None = None) -> tuple[Path, Path]:
    """Alternate ``rounds`` rounds (the banks under ``rule`` with ``rule_params`` first, then under
    the central bank learned in the round before; the central bank against the banks of its round)
    into the run folder ``out``; returns (the banks' last checkpoint, the central bank's).
    ``seed``: the banks' training seed (``train.seed``; None: the config's). With ``resume`` the
    plan is ``out``'s own (the other arguments are ignored) and the phases done are skipped. A new
    run's settings are checked before anything is written, so a refused run leaves no folder."""
    from interbank.policies.central_bank import load_central_bank_policy
    from interbank.policies.checkpoint import load_policy
    from interbank.train.config import load_train_config, parse_train_config
    from interbank.train.run import check_train_settings, train

    if resume:
        plan = read_curriculum(out)
        if "central_bank" not in plan or not (out / "banks-config.yaml").is_file():
            raise ConfigError(f"{out}: a two-policy run from before resumable runs; train a new one")
        settings = CentralBankSettings.from_json(plan["central_bank"])
        base = yaml.safe_load((out / "banks-config.yaml").read_text())
    else:
        if (out / CURRICULUM).exists():
            raise ConfigError(f"{out} already holds a two-policy run: add --resume to continue it, or choose another --out")
        if config_path is None:
            raise ConfigError("--config is required (e.g. configs/train/smoke.yaml)")
        if rounds < 1:
            raise ConfigError(f"rounds = {rounds}: at least 1")
        if out.exists() and not out.is_dir():
            raise ConfigError(f"--out {out}: is a file, not a run folder (choose another --out)")
        if (out / "config.yaml").exists():
            raise ConfigError(f"{out} already holds a one-policy run: choose another --out for a two-policy run")
        settings = central_bank or CentralBankSettings()
        base = load_train_config(config_path).model_dump(mode="json")
        cb = base.setdefault("env", {}).setdefault("central_bank", {})
        cb.update({"agent": True, "rule": rule, "rule_params": dict(rule_params or {})})
        if seed is not None:
            base["train"]["seed"] = seed
        cfg = parse_train_config(base, str(config_path))
        check_train_settings(cfg, "sb3")
        if rounds > 1 and cfg.train.env_workers > 1:
            raise ConfigError(f"train.env_workers = {cfg.train.env_workers}: from round 2 the banks learn under the "
                              "learned central bank, which needs the env copies in one process; set env_workers: 1")
        total = int(bank_timesteps if bank_timesteps is not None else base["train"]["total_timesteps"])
        plan = _plan(config_path, rule, dict(rule_params or {}), rounds, total, settings)
        out.mkdir(parents=True, exist_ok=True)
        write_atomic(out / "banks-config.yaml", yaml.safe_dump(base, sort_keys=False))
        write_atomic(out / CURRICULUM, json.dumps(plan, indent=2) + "\n")
    env_cfg = EnvConfig.model_validate(base["env"])
    done = {(d["round"], d["phase"]): d for d in plan["done"]}
    rounds = int(plan["rounds"])
    banks_ckpt: Path | None = None
    cb_ckpt: Path | None = None
    for phase in plan["phases"]:
        key = (phase["round"], phase["phase"])
        if key in done:
            if phase["learns"] == "banks":
                banks_ckpt = out / done[key]["checkpoint"]
            else:
                cb_ckpt = out / done[key]["checkpoint"]
            continue
        r = phase["round"]
        if phase["learns"] == "banks":
            learned = load_central_bank_policy(cb_ckpt) if cb_ckpt is not None else None
            started = (out / "banks" / "config.yaml").exists()
            result = train(None if started else out / "banks-config.yaml", out / "banks", timesteps=phase["until_step"],
                           resume=started, progress=progress, central_bank_policy=learned,
                           command=f"train_both {plan['config']} (round {r}: banks)")
            banks_ckpt = result.checkpoint
            ckpt = banks_ckpt
        else:
            assert banks_ckpt is not None
            schedule = EntropySchedule(settings.ent_coef, settings.ent_coef_final, settings.timesteps * (r - 1),
                                       settings.timesteps * rounds)
            cb_ckpt = train_central_bank(env_cfg, load_policy(banks_ckpt), out / "central_bank", settings,
                                         init=cb_ckpt, schedule=schedule, round_=r)
            ckpt = cb_ckpt
        plan["done"].append({"round": r, "phase": phase["phase"], "learns": phase["learns"],
                             "checkpoint": str(Path(ckpt).relative_to(out))})
        write_atomic(out / CURRICULUM, json.dumps(plan, indent=2) + "\n")
    assert banks_ckpt is not None and cb_ckpt is not None
    return banks_ckpt, cb_ckpt


class CritiqueTraining:
    """The training the Lucas-critique judgement needs (``interbank.evaluate.central_bank_critique``
    is handed this object: evaluate never imports train). ``central_bank``: a learned central bank's
    ``CentralBankSettings`` (its seed is replaced by the training seed)."""

    def __init__(self, central_bank: CentralBankSettings | None = None) -> None:
        self.central_bank = central_bank or CentralBankSettings()

    def settings(self) -> dict[str, Any]:
        return self.central_bank.as_json()

    def banks(self, base: dict[str, Any], out: Path, rule: str, params: dict[str, float], timesteps: int, seed: int,
              central_bank_policy: Any = None) -> Path:
        """The banks' shared policy trained from scratch for ``timesteps`` under the rule ``rule``
        (or ``central_bank_policy``, frozen) into the run folder ``out``; a finished run is reused,
        an unfinished one resumed. Returns the last checkpoint."""
        from interbank.run_folder import newest_checkpoint
        from interbank.train.run import train

        newest = newest_checkpoint(out)
        if newest is not None and int(newest.name) >= timesteps:
            return newest
        data = yaml.safe_load(yaml.safe_dump(base))
        data["env"].setdefault("central_bank", {}).update({"agent": True, "rule": rule, "rule_params": dict(params)})
        data["train"].update({"seed": seed, "total_timesteps": timesteps})
        cfg = out.parent / f"{out.name}.yaml"
        out.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(cfg, yaml.safe_dump(data, sort_keys=False))
        started = newest is not None
        return train(None if started else cfg, out, timesteps=timesteps, resume=started, progress=False,
                     central_bank_policy=central_bank_policy,
                     command=f"evaluate-central-bank: banks under {rule}").checkpoint

    def both(self, config_path: Path, out: Path, first_rule: str, timesteps: int, seed: int, rounds: int) -> None:
        """A two-policy run (``train_both``) for the training seed ``seed``; an unfinished one is resumed."""
        settings = CentralBankSettings.from_json({**self.central_bank.as_json(), "seed": seed})
        train_both(config_path, out, first_rule, timesteps, settings, rounds=rounds, resume=(out / CURRICULUM).exists(),
                   seed=seed)

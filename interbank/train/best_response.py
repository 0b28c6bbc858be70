"""Train one bank's policy with MaskablePPO as a best response to a frozen profile.

The measured exploitability of a profile (``interbank evaluate --exploit``): every other bank
keeps the profile under test while one bank learns (``DeviatorVecEnv``: a learning seat per env
copy, rotating over the banks); how much that learner then gains as a lone deviator is the
profile's epsilon (an epsilon-equilibrium check in the manner of Curry et al. 2022's learned
best responses; Lanctot et al. 2017's exploitability).

The learner starts from the profile itself, so it starts from zero gain and PPO only has to
find improvements:

- a trained checkpoint: its weights are copied into the learner's model (actor, and critic
  when the checkpoint holds one; otherwise the critic is fitted to the profile's discounted
  returns). The architecture is the checkpoint's (``policy.json``). Loaded through the safe
  path (``verify_checkpoint`` + safetensors), never a pickle;
- a rule: cloned with the training warm start (``interbank.train.warm_start``: cross-entropy
  to the rule's action, label-smoothed, and the critic regressed on the rule's returns).

PPO's hyper-parameters are the training run's (``train:`` of its ``config.yaml``) when the
profile comes from a run folder, else ``TrainSettings``' defaults. The rollout is
``n_envs x n_steps`` of the learner's decisions, split into as many minibatches as the run's
own rollout was, so each update sees the same number of gradient steps per epoch.

Snapshots of the learner are taken at ``fractions`` of the budget (and at 0: the warm start
alone), as numpy ``MLPPolicy`` objects played deterministically like any trained checkpoint.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from interbank.config import EnvConfig
from interbank.policies.base import Policy
from interbank.policies.checkpoint import MLPPolicy, load_weights
from interbank.run_folder import TRAINER_FILES, CheckpointError, read_run_config, torch_activation, verify_checkpoint
from interbank.train.config import TrainSettings, parse_train_config

DEFAULT_TIMESTEPS = 64_000
"""``--exploit-timesteps``' default: the learner's decisions (steps of the learning bank) per profile."""
DEFAULT_WALL = "4.4 minutes (5.4 with the rest of evaluate)"
"""What ``--exploit`` at the default budget took (stated in ``--help``): ``runs/v4-stress/s0`` (20 banks,
20 episodes), its trained policy and the best rule, on this 2-core machine shared with other jobs."""

DEFAULT_FRACTIONS = (0.25, 0.5, 1.0)


@dataclass
class BestResponse:
    """What ``train_best_response`` returns: ``snapshots`` [(learner decisions so far, policy)],
    the first at 0 (the warm start alone); ``warm_start`` how the learner started; ``settings``
    the PPO hyper-parameters used; ``episodes`` the learner's finished training episodes;
    ``seconds`` wall time (not written into reports)."""

    snapshots: list[tuple[int, MLPPolicy]]
    warm_start: dict[str, Any]
    settings: dict[str, Any]
    episodes: int
    seconds: float
    training: dict[str, float] = field(default_factory=dict)


def run_train_settings(checkpoint_folder: Path | None) -> tuple[TrainSettings, str]:
    """The ``train:`` settings of the run a checkpoint belongs to, and where they came from
    (``TrainSettings()`` and ``"defaults"`` outside a run folder)."""
    if checkpoint_folder is not None:
        for parent in (checkpoint_folder, *checkpoint_folder.parents[:3]):
            data = read_run_config(parent)
            if data is not None:
                return parse_train_config(data, str(parent / "config.yaml")).train, str(parent / "config.yaml")
    return TrainSettings(), "defaults"


def _minibatch(t: TrainSettings, n_banks: int, rollout: int) -> int:
    """The learner's minibatch: its rollout split into as many pieces as the training run's was."""
    pieces = max(1, round(t.n_envs * t.n_steps * n_banks / t.batch_size))
    return max(2, rollout // pieces)


def _snapshot(model, meta: dict[str, Any], name: str) -> MLPPolicy:
    weights = {k: v.detach().cpu().numpy().copy() for k, v in model.policy.state_dict().items()}
    return MLPPolicy(weights, meta, name)


def _load_weights_into(model, folder: Path) -> bool:
    """Copy a checkpoint's tensors into the learner; True when the critic came with them."""
    import torch

    verify_checkpoint(folder, may_lack=TRAINER_FILES)  # (the policy's weights only: a shared policy will do)
    weights = load_weights(folder)
    own = model.policy.state_dict()
    actor = [k for k in own if k.startswith(("mlp_extractor.policy_net.", "action_net."))]
    missing = [k for k in actor if k not in weights or tuple(weights[k].shape) != tuple(own[k].shape)]
    if missing:
        raise CheckpointError(f"{folder}: tensor {missing[0]!r} is missing or does not fit the learner's architecture")
    has_critic = all(k in weights and tuple(weights[k].shape) == tuple(own[k].shape) for k in own if k not in actor)
    keys = list(own) if has_critic else actor
    model.policy.load_state_dict({**own, **{k: torch.from_numpy(np.array(weights[k])) for k in keys}})
    return has_critic


def train_best_response(
    env_cfg: EnvConfig, profile: Policy, timesteps: int, *, checkpoint: Path | None = None,
    settings: TrainSettings | None = None, fractions: Sequence[float] = DEFAULT_FRACTIONS, seed: int = 0,
    name: str = "learned", progress: Callable[[int], None] | None = None,
) -> BestResponse:
    """Train a best response to ``profile`` (every other bank frozen on it) for ``timesteps``
    decisions of the learning bank.

    ``checkpoint``: the profile's checkpoint folder when it is a trained policy (its weights
    start the learner), None for a rule (cloned). ``settings``: PPO hyper-parameters (default:
    the checkpoint's run, else ``TrainSettings()``). Env copy k is seeded ``seed + k``: pass
    training seeds, apart from the evaluation's. ``progress(decisions)`` after each rollout."""
    from sb3_contrib import MaskablePPO
    from stable_baselines3.common.callbacks import BaseCallback

    from interbank.train.deviator_env import DeviatorVecEnv
    from interbank.train.run import LinearDecay, one_torch_thread_on_cpu
    from interbank.train.vec_env import BankVecEnv
    from interbank.train.warm_start import collect_policy, pretrain

    if timesteps < 1:
        raise ValueError(f"timesteps = {timesteps} must be at least 1")
    if settings is None:
        settings, _ = run_train_settings(checkpoint)
    t = settings
    arch: dict[str, Any] = {"type": "mlp", "hidden": list(t.net_arch), "activation": t.activation}
    if checkpoint is not None:
        arch = dict(verify_checkpoint(checkpoint, may_lack=TRAINER_FILES)["architecture"])
    started = time.perf_counter()
    one_torch_thread_on_cpu("cpu")
    vec = DeviatorVecEnv(env_cfg, profile, t.n_envs, seed)
    rollout = t.n_envs * t.n_steps
    hyper = {
        "n_envs": t.n_envs, "n_steps": t.n_steps, "batch_size": _minibatch(t, env_cfg.n_banks, rollout),
        "n_epochs": t.n_epochs, "learning_rate": t.learning_rate, "lr_schedule": t.lr_schedule, "gamma": t.gamma,
        "gae_lambda": t.gae_lambda, "clip_range": t.clip_range, "ent_coef": t.ent_coef, "vf_coef": t.vf_coef,
        "max_grad_norm": t.max_grad_norm, "net_arch": list(arch["hidden"]), "activation": arch["activation"],
        "seed": seed,
    }
    model = MaskablePPO(
        "MlpPolicy", vec,
        learning_rate=LinearDecay(t.learning_rate) if t.lr_schedule == "linear" else t.learning_rate,
        n_steps=t.n_steps, batch_size=hyper["batch_size"], n_epochs=t.n_epochs, gamma=t.gamma, gae_lambda=t.gae_lambda,
        clip_range=t.clip_range, ent_coef=t.ent_coef, vf_coef=t.vf_coef, max_grad_norm=t.max_grad_norm,
        policy_kwargs={"net_arch": {"pi": list(arch["hidden"]), "vf": list(arch["hidden"])},
                       "activation_fn": torch_activation(arch["activation"])},
        seed=seed, device="cpu", verbose=0,
    )
    # the warm start: the learner starts as the profile
    ws = t.warm_start
    warm: dict[str, Any]
    need_critic = True
    if checkpoint is not None:
        need_critic = not _load_weights_into(model, checkpoint)
        warm = {"from": "checkpoint weights", "checkpoint": str(checkpoint), "critic": "copied" if not need_critic else "fitted"}
    else:
        warm = {"from": f"clone of {profile.name}"}
    if need_critic:
        demo_env = BankVecEnv(env_cfg, t.n_envs, seed + 10_000)  # as many samples as the run's own warm start
        try:
            demos = collect_policy(demo_env, profile, ws.steps, t.gamma)
        finally:
            demo_env.close()
        stats = pretrain(model, demos, ws.epochs, ws.batch_size, ws.smoothing, seed, fit_actor=checkpoint is None)
        warm.update({k: round(v, 6) for k, v in stats.items()})
        if checkpoint is None:
            warm["smoothing"] = ws.smoothing
    meta = {"architecture": arch}
    snapshots = [(0, _snapshot(model, meta, f"{name}@0"))]

    marks = sorted({max(1, int(round(f * timesteps))) for f in fractions if 0 < f < 1})

    class Snapshots(BaseCallback):
        """At the start of each rollout (after the previous update): a snapshot once a mark is passed."""

        def _on_step(self) -> bool:
            return True

        def _on_rollout_start(self) -> None:
            done = int(self.model.num_timesteps)
            if marks and done >= marks[0] and done > snapshots[-1][0]:
                snapshots.append((done, _snapshot(self.model, meta, f"{name}@{done}")))
            while marks and done >= marks[0]:
                marks.pop(0)

        def _on_rollout_end(self) -> None:
            if progress:
                progress(int(self.model.num_timesteps))

    try:
        model.learn(total_timesteps=timesteps, callback=Snapshots())
    finally:
        vec.close()
    done = int(model.num_timesteps)
    if done > snapshots[-1][0]:
        snapshots.append((done, _snapshot(model, meta, f"{name}@{done}")))
    recent = list(vec.episode_stats)[-100:]
    training = {}
    if recent:
        training = {"episodes": float(vec.episodes_finished),
                    "recent_return": float(np.mean([e["episode_return"] for e in recent])),
                    "recent_default_rate": float(np.mean([e["defaulted"] for e in recent]))}
    return BestResponse(snapshots, warm, hyper, vec.episodes_finished, time.perf_counter() - started, training)

"""``interbank train --backend rllib``: the same config and run folder, trained by Ray RLlib.

One policy (``shared``) for all banks through RLlib's PettingZoo parallel wrapper,
with RLlib's action-masking PPO module. Without ``--address`` a local Ray instance
is started; with it the run joins an existing cluster (``ray start --head`` ...).

The run folder is the same as the stable-baselines3 backend's: config.yaml,
command.txt, versions.json, tb/, and checkpoints/<step>/ with the safe pair
(``policy.safetensors`` whose actor tensors carry the names the numpy loader
reads, ``policy.json``), so evaluate, replay and serve work unchanged. The
safetensors file also holds the module's full state (``rllib/...`` keys), which
``--resume`` loads into a fresh algorithm: nothing pickled is ever loaded
(the optimiser state starts afresh on resume).
"""

from __future__ import annotations

import json
import math
import os
import socket
import time
from pathlib import Path
from typing import Any

import numpy as np

from interbank.config import ConfigError
from interbank.policies.checkpoint import META, WEIGHTS, CheckpointError, newest_checkpoint, policy_metadata, read_metadata
from interbank.train.config import TrainConfig
from interbank.train.run import TrainResult, checkpoint_folders, prepare_run, versions

INSTALL_HINT = 'install it with: pip install -e ".[ray]"'


def require_ray():
    try:
        import ray  # noqa: F401
        from ray.rllib.algorithms.ppo import PPOConfig  # noqa: F401
    except ImportError:
        raise ConfigError(f"--backend rllib needs Ray RLlib, which is not installed; {INSTALL_HINT}") from None
    import ray

    return ray


def connect(address: str | None, num_cpus: int | None = None):
    """Start a local Ray instance, or join the cluster at ``address`` (host:port)."""
    ray = require_ray()
    if ray.is_initialized():
        return ray
    os.environ.setdefault("RAY_DISABLE_USAGE_STATS", "1")
    if address:
        host, _, port = address.rpartition(":")
        try:
            with socket.create_connection((host or "127.0.0.1", int(port)), timeout=3):
                pass
        except (OSError, ValueError):
            raise ConfigError(f"--address {address}: no Ray cluster answers there (start one with: ray start --head --port {port or 6379})") from None
        try:
            ray.init(address=address, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
        except Exception as err:  # noqa: BLE001 - Ray raises many kinds; the user needs one line
            raise ConfigError(f"--address {address}: cannot join the Ray cluster ({str(err).splitlines()[0][:120]})") from None
    else:
        ray.init(num_cpus=num_cpus, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    return ray


def _algo_config(cfg: TrainConfig, num_env_runners: int, num_gpus: float):
    from ray.rllib.algorithms.ppo import PPOConfig
    from ray.rllib.core.rl_module.multi_rl_module import MultiRLModuleSpec
    from ray.rllib.core.rl_module.rl_module import RLModuleSpec
    from ray.rllib.examples.rl_modules.classes.action_masking_rlm import ActionMaskingTorchRLModule
    from interbank.train.rllib_env import env_class
    t, r = cfg.train, cfg.rllib
    config = (
        PPOConfig()
        .environment(env_class(), env_config=cfg.env.model_dump(mode="json"))
        .multi_agent(policies={"shared"}, policy_mapping_fn=lambda agent_id, *args, **kwargs: "shared")
        .rl_module(rl_module_spec=MultiRLModuleSpec(rl_module_specs={"shared": RLModuleSpec(
            module_class=ActionMaskingTorchRLModule,
            model_config={"fcnet_hiddens": list(t.net_arch), "fcnet_activation": t.activation, "vf_share_layers": False},
        )}))
        .env_runners(num_env_runners=num_env_runners, sample_timeout_s=r.sample_timeout_s)
        .learners(num_gpus_per_learner=num_gpus)
        .training(
            lr=t.learning_rate, gamma=t.gamma, lambda_=t.gae_lambda, clip_param=t.clip_range,
            entropy_coeff=t.ent_coef, vf_loss_coeff=t.vf_coef, grad_clip=t.max_grad_norm,
            # RLlib's batch sizes count env steps (each one decision per live bank); ours count bank-decisions
            train_batch_size_per_learner=max(1, math.ceil(r.train_batch_size / cfg.env.n_banks)),
            minibatch_size=max(1, math.ceil(min(r.minibatch_size, r.train_batch_size) / cfg.env.n_banks)),
            num_epochs=r.num_epochs,
        )
        .debugging(seed=t.seed)
    )
    return config


def export_weights(module) -> dict[str, Any]:
    """The module's state as numpy: every tensor under ``rllib/<name>`` plus the actor under
    the names the numpy loader reads (``mlp_extractor.policy_net.*``, ``action_net.*``)."""
    state = {k: v.detach().cpu().numpy() for k, v in module.state_dict().items()}
    out = {f"rllib/{k}": np.ascontiguousarray(v) for k, v in state.items()}
    for k, v in state.items():
        if k.startswith("encoder.actor_encoder.net.mlp."):
            out["mlp_extractor.policy_net." + k.removeprefix("encoder.actor_encoder.net.mlp.")] = np.ascontiguousarray(v)
        elif k.startswith("pi.net.mlp.0."):
            out["action_net." + k.removeprefix("pi.net.mlp.0.")] = np.ascontiguousarray(v)
    return out


def save_checkpoint(algo, run_dir: Path, cfg: TrainConfig, step: int, iteration: int) -> Path:
    from safetensors.numpy import save_file

    final, tmp = checkpoint_folders(run_dir, step)
    if tmp is None:
        return final
    save_file(export_weights(algo.get_module("shared")), str(tmp / WEIGHTS))
    t = cfg.train
    meta = policy_metadata(t.net_arch, t.activation, cfg.env.digest(), cfg.env.n_banks, {
        "train": {"step": step, "algorithm": "rllib_ppo", "seed": t.seed, "iteration": iteration, "backend": "rllib"},
        "versions": versions(),
    })
    (tmp / META).write_text(json.dumps(meta, indent=2))
    os.replace(tmp, final)
    return final


def _load_state(algo, folder: Path) -> None:
    import torch
    from safetensors.numpy import load_file

    weights = load_file(str(folder / WEIGHTS))
    state = {k.removeprefix("rllib/"): torch.from_numpy(v) for k, v in weights.items() if k.startswith("rllib/")}
    if not state:
        raise CheckpointError(f"{folder}: not an RLlib checkpoint of interbank (no rllib/ tensors)")
    algo.learner_group.foreach_learner(lambda learner: learner.module["shared"].load_state_dict(state))
    algo.env_runner_group.sync_weights(from_worker_or_learner_group=algo.learner_group, inference_only=True)


def train_rllib(config_path: Path | None, out: Path | None, timesteps: int | None, seed: int | None, device: str | None,
                resume: bool, progress: bool, command: str, address: str | None, num_env_runners: int | None,
                num_gpus: float | None) -> TrainResult:
    require_ray()
    run_dir, cfg = prepare_run(config_path, out, resume, {"total_timesteps": timesteps, "seed": seed, "device": device}, command)
    runners = cfg.rllib.num_env_runners if num_env_runners is None else num_env_runners
    gpus = cfg.rllib.num_gpus if num_gpus is None else num_gpus
    ray = connect(address, num_cpus=max(2, runners + 1) if not address else None)
    from torch.utils.tensorboard import SummaryWriter
    from tqdm import tqdm

    start_step = 0
    folder = newest_checkpoint(run_dir) if resume else None
    if resume:
        if folder is None:
            raise CheckpointError(f"{run_dir}: no checkpoint to resume from")
        start_step = int(read_metadata(folder)["train"]["step"])
    algo = None
    try:
        algo = _algo_config(cfg, runners, gpus).build_algo()
        if folder is not None:
            _load_state(algo, folder)
        writer = SummaryWriter(str(run_dir / "tb" / "rllib"))
        total = cfg.train.total_timesteps
        bar = tqdm(total=total, initial=start_step, unit="dec", unit_scale=True, desc="train (rllib)", disable=not progress)
        step, iteration, last_ckpt, stats, episodes = start_step, 0, start_step, {}, 0
        checkpoint = folder
        started = time.perf_counter()
        while step < total:
            result = algo.train()
            iteration += 1
            new_step = start_step + agent_steps_sampled(result)
            bar.update(new_step - step)
            step = new_step
            stats = _log(writer, result, step)
            episodes = int(result.get("env_runners", {}).get("num_episodes_lifetime", episodes) or episodes)
            if step - last_ckpt >= cfg.train.checkpoint_every or step >= total:
                checkpoint = save_checkpoint(algo, run_dir, cfg, step, iteration)
                last_ckpt = step
        bar.close()
        writer.add_scalar("interbank/decisions_per_second", (step - start_step) / max(1e-9, time.perf_counter() - started), step)
        writer.close()
        if checkpoint is None or int(checkpoint.name) != step:
            checkpoint = save_checkpoint(algo, run_dir, cfg, step, iteration)
    finally:
        if algo is not None:
            algo.stop()
        ray.shutdown()  # a local instance stops; a cluster keeps running, we only disconnect
    return TrainResult(run_dir, checkpoint, step, episodes, stats)


def agent_steps_sampled(result: dict[str, Any]) -> int:
    """Bank-decisions sampled so far (lifetime) by the ``shared`` module, from an ``algo.train()``
    result: every live bank's action is one module step (RLlib's env steps count all banks as one)."""
    return int(result.get("env_runners", {}).get("num_module_steps_sampled_lifetime", {}).get("shared", 0))


def _log(writer, result: dict[str, Any], step: int) -> dict[str, float]:
    env = result.get("env_runners", {})
    out = {}
    for key, tag in (("episode_return_mean", "interbank/episode_return_sum"), ("episode_len_mean", "interbank/episode_length")):
        value = env.get(key)
        if isinstance(value, (int, float)) and np.isfinite(value):
            writer.add_scalar(tag, value, step)
            out[key] = float(value)
    learner = result.get("learners", {}).get("shared", {})
    for key in ("policy_loss", "vf_loss", "entropy", "mean_kl_loss", "total_loss"):
        value = learner.get(key)
        if isinstance(value, (int, float)) and np.isfinite(value):
            writer.add_scalar(f"train/{key}", value, step)
            out[key] = float(value)
    return out

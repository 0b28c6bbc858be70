"""``interbank train``: learn one policy shared by all banks with masked PPO.

Run folder (``runs/NAME/``):

    config.yaml      the resolved config (env + train), every key written out
    command.txt      the exact command line
    versions.json    Python, interbank, numpy, torch, SB3, sb3-contrib, gymnasium, pettingzoo
    tb/              TensorBoard logs (SB3 losses + interbank/ episode figures)
    checkpoints/<step>/policy.safetensors, policy.json, model.zip

Checkpoints are written to a temporary folder and renamed into place, so a
crash never leaves a half-written checkpoint. ``--resume`` continues from the
newest checkpoint whose ``model.zip`` still has the SHA-256 recorded when it
was written (SB3's zip contains pickles: nothing else is ever loaded).
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from interbank.config import ConfigError
from interbank.policies.checkpoint import META, WEIGHTS, CheckpointError, policy_metadata, read_metadata
from interbank.train.config import TrainConfig, load_train_config, parse_train_config

ZIP = "model.zip"


@dataclass
class TrainResult:
    run_dir: Path
    checkpoint: Path
    timesteps: int
    episodes: int
    last_stats: dict[str, float]


def versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version(), "platform": platform.platform()}
    for pkg in ("interbank", "numpy", "torch", "stable-baselines3", "sb3-contrib", "gymnasium", "pettingzoo", "safetensors"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = "not installed"
    return out


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(text)
    os.replace(tmp, path)


def _resolved_yaml(cfg: TrainConfig) -> str:
    return yaml.safe_dump(cfg.model_dump(mode="json"), sort_keys=False)


def verified_checkpoints(run_dir: Path) -> list[Path]:
    """Checkpoint folders, newest first, whose algorithm zip matches its recorded hash."""
    root = run_dir / "checkpoints"
    if not root.is_dir():
        return []
    found = []
    for path in sorted((p for p in root.iterdir() if p.is_dir() and p.name.isdigit()), key=lambda p: -int(p.name)):
        try:
            meta = read_metadata(path)
        except CheckpointError:
            continue
        expected = (meta.get("train") or {}).get("algorithm_zip_sha256")
        if (path / ZIP).is_file() and (path / WEIGHTS).is_file() and expected and sha256(path / ZIP) == expected:
            found.append(path)
    return found


def checkpoint_folders(run_dir: Path, step: int) -> tuple[Path, Path | None]:
    """(checkpoints/<step>, a fresh temporary folder to fill and rename onto it), or
    (checkpoints/<step>, None) when that checkpoint already exists."""
    root = run_dir / "checkpoints"
    root.mkdir(parents=True, exist_ok=True)
    final = root / str(step)
    if final.exists():
        return final, None
    tmp = root / f".tmp-{step}-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    return final, tmp


def save_checkpoint(model, run_dir: Path, cfg: TrainConfig, step: int) -> Path:
    """Write checkpoints/<step>/ atomically: weights (safetensors), metadata, SB3 zip."""
    from safetensors.torch import save_file

    final, tmp = checkpoint_folders(run_dir, step)
    if tmp is None:
        return final
    model.save(tmp / ZIP)
    state = {k: v.detach().cpu().contiguous() for k, v in model.policy.state_dict().items()}
    save_file(state, str(tmp / WEIGHTS))
    t = cfg.train
    meta = policy_metadata(
        t.net_arch, t.activation, cfg.env.digest(), cfg.env.n_banks,
        {
            "train": {
                "step": step, "algorithm": t.algorithm, "seed": t.seed,
                "algorithm_zip": ZIP, "algorithm_zip_sha256": sha256(tmp / ZIP),
            },
            "versions": versions(),
        },
    )
    (tmp / META).write_text(json.dumps(meta, indent=2))
    os.replace(tmp, final)
    return final


def prepare_run(config_path: Path | None, out: Path | None, resume: bool, overrides: dict[str, Any], command: str) -> tuple[Path, TrainConfig]:
    """Create (or reopen on resume) the run folder and return it with the resolved config."""
    if resume:
        if out is None:
            raise ConfigError("--resume needs --out RUN_FOLDER (the run to continue)")
        saved = out / "config.yaml"
        if not saved.is_file():
            raise ConfigError(f"--resume: {out} is not a run folder (no config.yaml)")
        data = yaml.safe_load(saved.read_text())
        base = data if config_path is None else load_train_config(config_path).model_dump(mode="json")
    else:
        if config_path is None:
            raise ConfigError("--config is required (e.g. configs/train/smoke.yaml)")
        base = load_train_config(config_path).model_dump(mode="json")
        if out is None:
            out = Path("runs") / f"{config_path.stem}-s{overrides.get('seed', base['train']['seed'])}"
        if (out / "config.yaml").exists():
            raise ConfigError(f"{out} already holds a run: add --resume to continue it, or choose another --out")
    for key, value in overrides.items():
        if value is not None:
            base["train"][key] = value
    cfg = parse_train_config(base, str(config_path or out / "config.yaml"))
    out.mkdir(parents=True, exist_ok=True)
    _write_atomic(out / "config.yaml", _resolved_yaml(cfg))
    with (out / "command.txt").open("a") as f:
        f.write(command + "\n")
    _write_atomic(out / "versions.json", json.dumps(versions(), indent=2) + "\n")
    return out, cfg


def build_model(cfg: TrainConfig, vec, run_dir: Path):
    import torch
    from sb3_contrib import MaskablePPO

    from interbank.train.buffer import PaddingAwareRolloutBuffer

    t = cfg.train
    model = MaskablePPO(
        "MlpPolicy", vec,
        learning_rate=t.learning_rate, n_steps=t.n_steps, batch_size=t.batch_size, n_epochs=t.n_epochs,
        gamma=t.gamma, gae_lambda=t.gae_lambda, clip_range=t.clip_range, ent_coef=t.ent_coef,
        vf_coef=t.vf_coef, max_grad_norm=t.max_grad_norm,
        rollout_buffer_class=PaddingAwareRolloutBuffer,
        policy_kwargs={
            "net_arch": {"pi": list(t.net_arch), "vf": list(t.net_arch)},
            "activation_fn": torch.nn.Tanh if t.activation == "tanh" else torch.nn.ReLU,
        },
        tensorboard_log=str(run_dir / "tb"), seed=t.seed, device=t.device, verbose=0,
    )
    return model


def train(
    config_path: Path | None, out: Path | None = None, timesteps: int | None = None, seed: int | None = None,
    device: str | None = None, resume: bool = False, progress: bool = True, command: str | None = None,
) -> TrainResult:
    """Train (or resume) and return where the run and its newest checkpoint are."""
    command = command or " ".join(["interbank", *sys.argv[1:]])
    overrides = {"total_timesteps": timesteps, "seed": seed, "device": device}
    run_dir, cfg = prepare_run(config_path, out, resume, overrides, command)

    from sb3_contrib import MaskablePPO

    from interbank.train.callbacks import CheckpointCallback, MetricsCallback, ProgressCallback
    from interbank.train.vec_env import BankVecEnv

    t = cfg.train
    if t.device == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise ConfigError("--device cuda: no CUDA device is available here (use --device cpu or auto)")
    pm = cfg.priority_model
    factory = None
    if pm.model == "learned":
        from interbank.envs.priority import ExploringPriority, priority_model_from_config

        def factory(k: int):
            return ExploringPriority(priority_model_from_config(cfg.env.priority), pm.exploration, pm.hold, seed=t.seed * 1000 + k)
    vec = BankVecEnv(cfg.env, t.n_envs, t.seed, factory)
    start = 0
    if resume:
        ckpts = verified_checkpoints(run_dir)
        if not ckpts:
            raise CheckpointError(f"{run_dir}: no checkpoint to resume from (or none whose {ZIP} matches its recorded hash)")
        model = MaskablePPO.load(ckpts[0] / ZIP, env=vec, device=t.device)
        model.tensorboard_log = str(run_dir / "tb")
        start = model.num_timesteps
    else:
        model = build_model(cfg, vec, run_dir)
    model.rollout_buffer.padding_source = vec
    remaining = max(0, t.total_timesteps - start)

    def save(step: int) -> Path:
        return save_checkpoint(model, run_dir, cfg, step)

    callbacks = [
        ProgressCallback(t.total_timesteps, start, vec, disable=not progress),
        MetricsCallback(vec),
        CheckpointCallback(t.checkpoint_every, save),
    ]
    if remaining > 0:
        model.learn(total_timesteps=remaining, callback=callbacks, reset_num_timesteps=not resume, tb_log_name="ppo")
    else:
        callbacks[0].bar.close()
    last = save(model.num_timesteps)
    vec.close()
    stats = dict(vec.episode_stats[-1]) if vec.episode_stats else {}
    if pm.model == "learned":
        stats.update(fit_priority_model(cfg, last, progress))
    return TrainResult(run_dir, last, model.num_timesteps, vec.episodes_finished, stats)


def fit_priority_model(cfg: TrainConfig, checkpoint: Path, progress: bool) -> dict[str, float]:
    """Collect bandit data with the trained policy, fit the priority model, save it beside the policy."""
    from tqdm import tqdm

    from interbank.policies.checkpoint import load_policy, write_priority_model
    from interbank.train.priority import collect, fit

    pm = cfg.priority_model
    policy = load_policy(checkpoint)
    bar = tqdm(total=pm.episodes, desc="priority model", unit="ep", disable=not progress)
    x, p, y = collect(cfg.env, policy, pm.episodes, pm.exploration, pm.hold, pm.horizon, pm.gamma,
                      cfg.train.seed + 10_000, bar.update)
    bar.close()
    model, fit_stats = fit(x, p, y, pm.ridge)
    write_priority_model(checkpoint, model.weights, {"train": {**pm.model_dump(), "samples": fit_stats["samples"],
                                                              "mix_on_training_data": fit_stats["mix"]}})
    return {f"priority_mix_{k.lower()}": v for k, v in fit_stats["mix"].items()}

"""``interbank train``: learn one policy shared by all banks with masked PPO.

The run folder's layout and every write into it belong to ``interbank.run_folder``; this
module hands it the policy's tensors, the metadata and the trainer state (optimizer, step
counter, update counter, random generators) at each checkpoint. ``--resume`` reads only
that safe state back (safetensors + JSON): SB3's ``model.zip`` is never written during
training and never loaded; ``interbank export`` builds one on request for SB3 users.
"""

from __future__ import annotations

import platform
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from interbank.config import ConfigError
from interbank.run_folder import (
    TRAINER_FORMAT,
    WEIGHTS,
    CheckpointError,
    flatten_state,
    load_resume_state,
    newest_checkpoint,
    open_run_folder,
    policy_metadata,
    read_run_config,
    torch_activation,
    verify_checkpoint,
    write_checkpoint,
    write_run_files,
)
from interbank.train.config import ALGORITHM, TrainConfig, load_train_config, parse_train_config


@dataclass
class TrainResult:
    run_dir: Path
    checkpoint: Path
    timesteps: int
    episodes: int
    last_stats: dict[str, float]
    seconds: dict[str, float] = field(default_factory=dict)
    """Wall time of the warm start and of PPO (``ppo_decisions`` says how many PPO made)."""
    trained: bool = True
    """False: a resumed run was already at its budget (``budget``); nothing was trained or written."""
    budget: int = 0


def versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version(), "platform": platform.platform()}
    for pkg in ("interbank", "numpy", "torch", "stable-baselines3", "sb3-contrib", "gymnasium", "pettingzoo", "safetensors", "ray"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = "not installed"
    return out


def _resolved_yaml(cfg: TrainConfig) -> str:
    return yaml.safe_dump(cfg.model_dump(mode="json"), sort_keys=False)


def saved_backend(out: Path) -> str:
    """The backend a run folder was trained with: config.yaml's ``train.backend`` (runs from before
    that key: ``rllib`` when the newest checkpoint says so, else ``sb3``)."""
    data = read_run_config(out)
    if data is None:
        raise ConfigError(f"--resume: {out} is not a run folder (no config.yaml)")
    backend = (data.get("train") or {}).get("backend") if isinstance(data.get("train"), dict) else None
    if backend in ALGORITHM:
        return backend
    newest = newest_checkpoint(out)
    if newest is not None:
        try:
            return "rllib" if (verify_checkpoint(newest).get("train") or {}).get("backend") == "rllib" else "sb3"
        except CheckpointError:
            pass
    return "sb3"


def config_backend(config_path: Path | None) -> str | None:
    """The backend a training config asks for: its ``train.backend``, else the backend of its
    ``train.algorithm`` (None when it names neither, or there is no config)."""
    if config_path is None:
        return None
    settings = load_train_config(config_path).train
    if "backend" in settings.model_fields_set:
        return settings.backend
    if "algorithm" in settings.model_fields_set:
        return next(b for b, algorithm in ALGORITHM.items() if algorithm == settings.algorithm)
    return None


def resolve_backend(requested: str | None, resume: bool, out: Path | None, config_path: Path | None = None) -> str:
    """``--backend`` as given, else the config's own (``config_backend``), else sb3; on ``--resume``
    the run's own (a different one is refused)."""
    if not resume or out is None:
        return requested or config_backend(config_path) or "sb3"
    saved = saved_backend(out)
    if requested is not None and requested != saved:
        raise ConfigError(f"--resume: {out} was trained with --backend {saved}; resume it with the same backend (or leave --backend out)")
    return saved


def check_train_settings(cfg: TrainConfig, backend: str, frozen_central_bank: bool = False) -> None:
    """Refuse (ConfigError, one line) train settings the backend cannot run together, before anything is written.
    ``frozen_central_bank``: a learned central bank policy will play in every env copy."""
    if backend != "sb3" and cfg.train.warm_start.policy:
        raise ConfigError("train.warm_start: only the sb3 backend has a warm start (remove the section for --backend rllib)")
    if backend != "sb3" and cfg.train.critic != "local":
        raise ConfigError("train.critic: only the sb3 backend has a central critic (use local for --backend rllib)")
    if backend != "sb3" and cfg.train.opponents.fraction > 0:
        raise ConfigError("train.opponents: only the sb3 backend has an opponent pool (set fraction: 0 for --backend rllib)")
    if backend != "sb3" and cfg.train.env_workers > 1:
        raise ConfigError("train.env_workers: only the sb3 backend steps env copies in workers (use rllib.num_env_runners)")
    if cfg.train.env_workers > cfg.train.n_envs:
        raise ConfigError(f"train.env_workers = {cfg.train.env_workers} is more than train.n_envs ({cfg.train.n_envs}): "
                          "each worker steps at least one env copy")
    if cfg.train.env_workers > 1 and cfg.train.opponents.fraction > 0:
        raise ConfigError("train.env_workers: the opponent pool (train.opponents) needs the env copies in one process; "
                          "set env_workers: 1")
    if cfg.train.env_workers > 1 and frozen_central_bank:
        raise ConfigError("train.env_workers: a central bank policy needs the env copies in one process; set env_workers: 1")
    if backend != "sb3" and cfg.train.lr_schedule != "constant":
        raise ConfigError("train.lr_schedule: only the sb3 backend has a learning-rate schedule (use constant for --backend rllib)")
    if backend == "sb3" and cfg.train.device == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise ConfigError("--device cuda: no CUDA device is available here (use --device cpu or auto)")


def prepare_run(config_path: Path | None, out: Path | None, resume: bool, overrides: dict[str, Any], command: str,
                backend: str = "sb3", rllib_overrides: dict[str, Any] | None = None,
                objective: str | None = None, frozen_central_bank: bool = False) -> tuple[Path, TrainConfig]:
    """Create (or reopen on resume) the run folder and return it with the resolved config
    (``resolve_run``, then ``start_run_folder``)."""
    out, cfg = resolve_run(config_path, out, resume, overrides, backend, rllib_overrides, objective, frozen_central_bank)
    start_run_folder(out, cfg, command)
    return out, cfg


def start_run_folder(out: Path, cfg: TrainConfig, command: str) -> None:
    """Create (or reopen) the run folder and write config.yaml, command.txt and versions.json."""
    open_run_folder(out)
    write_run_files(out, _resolved_yaml(cfg), command, versions())


COMMAND_LINE_KEYS: dict[str, tuple[str, ...]] = {
    "train": ("total_timesteps", "seed", "device", "backend", "algorithm"),
    "rllib": ("address", "num_env_runners", "num_gpus"),
}
"""Keys of a training config the command line sets (--timesteps, --seed, --device, --backend, --address,
--num-env-runners, --num-gpus; and --objective: env.reward.objective): a run's config.yaml may differ
from the file it was made from there."""


def _first_difference(a: Any, b: Any, key: str = "") -> str | None:
    """The first dotted key where two plain-data trees differ, or None."""
    if isinstance(a, dict) and isinstance(b, dict):
        for name in [*a, *(k for k in b if k not in a)]:
            found = _first_difference(a.get(name), b.get(name), f"{key}.{name}" if key else str(name))
            if found is not None:
                return found
        return None
    return None if a == b else (key or "the top level")


def check_same_config(config_path: Path, saved: dict[str, Any], out: Path) -> None:
    """Refuse (one line) a ``--config`` given with ``--resume`` that differs from the run's own
    config.yaml outside ``COMMAND_LINE_KEYS``: a run continues under the config it was made with."""
    source = out / "config.yaml"
    old = parse_train_config(saved, str(source)).model_dump(mode="json")
    new = load_train_config(config_path).model_dump(mode="json")
    for tree in (old, new):
        for section, keys in COMMAND_LINE_KEYS.items():
            for name in keys:
                tree[section].pop(name, None)
        tree["env"].get("reward", {}).pop("objective", None)
    where = _first_difference(old, new)
    if where is not None:
        raise ConfigError(f"--resume: --config {config_path} differs from {source} at {where}; a run continues under "
                          "its own config (leave --config out, or train a new run into another --out)")


def at_budget(run_dir: Path, cfg: TrainConfig) -> TrainResult | None:
    """A resumed run whose newest checkpoint has reached its budget: the result of training nothing
    (``trained`` False; nothing is written). None when there is more to train or no checkpoint."""
    folder = newest_checkpoint(run_dir)
    if folder is None or int(folder.name) < cfg.train.total_timesteps:
        return None
    return TrainResult(run_dir, folder, int(folder.name), 0, {}, {"ppo_decisions": 0}, False, cfg.train.total_timesteps)


def resolve_run(config_path: Path | None, out: Path | None, resume: bool, overrides: dict[str, Any],
                backend: str = "sb3", rllib_overrides: dict[str, Any] | None = None,
                objective: str | None = None, frozen_central_bank: bool = False) -> tuple[Path, TrainConfig]:
    """The run folder and the resolved config of a run, checked, with nothing written.
    ``overrides`` (``train:`` keys) and ``rllib_overrides`` are the command line's, None = keep;
    ``objective`` overrides ``env.reward.objective`` (a new run only)."""
    if resume:
        if out is None:
            raise ConfigError("--resume needs --out RUN_FOLDER (the run to continue)")
        if objective is not None:
            raise ConfigError("--objective applies to a new run; --resume continues under the run's own objective")
        resolve_backend(backend, True, out)
        data = read_run_config(out)
        if data is None:
            raise ConfigError(f"--resume: {out} is not a run folder (no config.yaml)")
        if config_path is not None:
            check_same_config(config_path, data, out)
        saved_seed = (data.get("train") or {}).get("seed", 0) if isinstance(data.get("train"), dict) else 0
        if overrides.get("seed") is not None and overrides["seed"] != saved_seed:
            raise ConfigError(f"--resume: {out} trains with seed {saved_seed}; --seed {overrides['seed']} cannot change "
                              "a run under way (leave --seed out, or train a new run into another --out)")
        base = data  # the run's own config: a --config was only checked against it
    else:
        if config_path is None:
            raise ConfigError("--config is required (e.g. configs/train/smoke.yaml)")
        base = load_train_config(config_path).model_dump(mode="json")
        if out is None:
            seed = overrides.get("seed")  # (the key is there, None when --seed was not given)
            out = Path("runs") / f"{config_path.stem}-s{base['train']['seed'] if seed is None else seed}"
        if out.exists() and not out.is_dir():
            raise ConfigError(f"--out {out}: is a file, not a run folder (choose another --out)")
        if (out / "config.yaml").exists():
            raise ConfigError(f"{out} already holds a run: add --resume to continue it, or choose another --out")
    base.setdefault("train", {})
    if objective is not None:
        base.setdefault("env", {}).setdefault("reward", {})["objective"] = objective
    for key, value in overrides.items():
        if value is not None:
            base["train"][key] = value
    base["train"]["backend"] = backend
    base["train"]["algorithm"] = ALGORITHM[backend]
    for key, value in (rllib_overrides or {}).items():
        if value is not None:
            base.setdefault("rllib", {})[key] = value
    cfg = parse_train_config(base, str(config_path or out / "config.yaml"))
    check_train_settings(cfg, backend, frozen_central_bank)
    return out, cfg


def one_torch_thread_on_cpu(device: str) -> None:
    """Train a CPU learner with one torch thread (process-wide). The policy is a small MLP: torch's
    thread pool buys little on it, and on a machine whose cores are busy (other jobs, or the env
    stepping in this very process) it made every forward and backward pass many times slower
    (SB3 at 100 banks on this 2-core machine under load: 880 decisions/s with the default
    threads, 7,700 with one)."""
    import torch

    if device == "cpu" or (device == "auto" and not torch.cuda.is_available()):
        torch.set_num_threads(1)


# ------------------------------------------------------------ SB3: state out, state in
def trainer_state(model) -> tuple[dict[str, Any], dict[str, Any]]:
    """(trainer.json, tensors) for a MaskablePPO: optimizer state, counters, random generators."""
    import numpy as np
    import torch

    tree = {"optimizer": model.policy.optimizer.state_dict(),
            "rng": {"torch": torch.get_rng_state(), "numpy": np.random.get_state()}}
    tensors, spec = flatten_state(tree)
    meta = {"format": TRAINER_FORMAT, "backend": "sb3", "algorithm": ALGORITHM["sb3"],
            "num_timesteps": int(model.num_timesteps), "n_updates": int(model._n_updates), "state": spec}
    return meta, tensors


def snapshot_metadata(cfg: TrainConfig, step: int) -> dict[str, Any]:
    """``policy.json`` for the shared policy at ``step`` (a checkpoint or a pool snapshot)."""
    t = cfg.train
    return policy_metadata(t.net_arch, t.activation, cfg.env.digest(), cfg.env.n_banks, {
        "train": {"step": step, "backend": "sb3", "algorithm": ALGORITHM["sb3"], "seed": t.seed, "critic": t.critic},
        "versions": versions(),
    })


def save_checkpoint(model, run_dir: Path, cfg: TrainConfig, step: int) -> Path:
    """Hand the run folder the policy's tensors, its metadata and the trainer state for ``step``."""
    weights = {k: v.detach().cpu().numpy() for k, v in model.policy.state_dict().items()}
    meta = snapshot_metadata(cfg, step)
    trainer_meta, tensors = trainer_state(model)
    return write_checkpoint(run_dir, step, weights, meta, tensors, trainer_meta)


def restore(model, folder: Path) -> int:
    """Load a verified checkpoint's weights and trainer state into a freshly built MaskablePPO (same
    config); returns the step counter. Refuses, in one line, anything that does not fit."""
    import numpy as np
    import torch

    meta, state, tree, weights = load_resume_state(folder, "sb3", ("num_timesteps", "n_updates"))
    source = str(folder / "trainer.json")
    own = model.policy.state_dict()
    for key, value in own.items():
        if key not in weights:
            raise CheckpointError(f"{folder / WEIGHTS}: no tensor {key!r} (was the run's net_arch changed?)")
        if tuple(weights[key].shape) != tuple(value.shape):
            raise CheckpointError(f"{folder / WEIGHTS}: {key} has shape {tuple(weights[key].shape)}, this config builds {tuple(value.shape)}")
    model.policy.load_state_dict({k: torch.from_numpy(np.array(weights[k])) for k in own})
    try:
        model.policy.optimizer.load_state_dict(tree["optimizer"])
        params = [p for group in model.policy.optimizer.param_groups for p in group["params"]]
        for p in params:
            for name, value in model.policy.optimizer.state.get(p, {}).items():
                if torch.is_tensor(value) and name != "step" and value.shape != p.shape:
                    raise ValueError(f"{name} has shape {tuple(value.shape)} for a parameter of shape {tuple(p.shape)}")
    except (ValueError, KeyError, TypeError, RuntimeError, IndexError) as err:
        raise CheckpointError(f"{source}: the optimizer state does not fit this model ({str(err).splitlines()[0][:100]})") from None
    rng = tree.get("rng") or {}
    try:
        if "torch" in rng:
            torch.set_rng_state(rng["torch"])
        if "numpy" in rng:
            np.random.set_state(rng["numpy"])
    except (ValueError, TypeError, RuntimeError) as err:
        raise CheckpointError(f"{source}: bad random generator state ({str(err).splitlines()[0][:80]})") from None
    model.num_timesteps = state["num_timesteps"]
    model._n_updates = state["n_updates"]
    return model.num_timesteps


class LinearDecay:
    """SB3 learning-rate schedule: ``start`` x the fraction of the budget remaining."""

    def __init__(self, start: float) -> None:
        self.start = start

    def __call__(self, progress_remaining: float) -> float:
        return self.start * progress_remaining


def build_model(cfg: TrainConfig, vec, run_dir: Path):
    from sb3_contrib import MaskablePPO

    from interbank.train.buffer import PaddingAwareRolloutBuffer

    t = cfg.train
    policy: Any = "MlpPolicy"
    if t.critic == "central":
        from interbank.train.critic import central_critic_policy

        policy = central_critic_policy()
    model = MaskablePPO(
        policy, vec,
        learning_rate=LinearDecay(t.learning_rate) if t.lr_schedule == "linear" else t.learning_rate, n_steps=t.n_steps, batch_size=t.batch_size, n_epochs=t.n_epochs,
        gamma=t.gamma, gae_lambda=t.gae_lambda, clip_range=t.clip_range, ent_coef=t.ent_coef,
        vf_coef=t.vf_coef, max_grad_norm=t.max_grad_norm,
        rollout_buffer_class=PaddingAwareRolloutBuffer,
        policy_kwargs={
            "net_arch": {"pi": list(t.net_arch), "vf": list(t.net_arch)},
            "activation_fn": torch_activation(t.activation),
        },
        tensorboard_log=str(run_dir / "tb"), seed=t.seed, device=t.device, verbose=0,
    )
    return model


def train(
    config_path: Path | None, out: Path | None = None, timesteps: int | None = None, seed: int | None = None,
    device: str | None = None, resume: bool = False, progress: bool = True, command: str | None = None,
    objective: str | None = None, central_bank_policy=None,
) -> TrainResult:
    """Train (or resume) and return where the run and its newest checkpoint are. ``central_bank_policy``
    (a config with the central bank agent on): it plays the central bank in every env copy instead of
    the configured rule (``interbank.train.central_bank``: the banks learn under a learned one)."""
    command = command or " ".join(["interbank", *sys.argv[1:]])
    overrides = {"total_timesteps": timesteps, "seed": seed, "device": device}
    run_dir, cfg = resolve_run(config_path, out, resume, overrides, objective=objective,
                               frozen_central_bank=central_bank_policy is not None)
    done = at_budget(run_dir, cfg) if resume else None
    if done is not None:
        return done

    from interbank.train.callbacks import (
        CheckpointCallback,
        MetricsCallback,
        ProgressCallback,
    )
    from interbank.train.vec_env import BankVecEnv

    if resume:
        open_run_folder(run_dir)  # it exists: only the temporaries a crash left are removed
    t = cfg.train
    one_torch_thread_on_cpu(t.device)
    pm = cfg.priority_model
    factory = None
    if pm.model == "learned":
        from interbank.envs.priority import (
            ExploringPriority,
            priority_model_from_config,
        )

        def factory(k: int):
            return ExploringPriority(priority_model_from_config(cfg.env.priority), pm.exploration, pm.hold, seed=t.seed * 1000 + k)
    if t.env_workers > 1:
        from interbank.train.worker_vec_env import WorkerBankVecEnv

        vec = WorkerBankVecEnv(cfg.env, t.n_envs, t.seed, factory, global_state=t.critic == "central", workers=t.env_workers)
    else:
        vec = BankVecEnv(cfg.env, t.n_envs, t.seed, factory, global_state=t.critic == "central")
        if central_bank_policy is not None:
            for env in vec.envs:
                env.central_bank_policy = central_bank_policy
    start = 0
    try:
        model = build_model(cfg, vec, run_dir)
    except (RuntimeError, MemoryError) as err:  # torch cannot allocate the net (or the device refuses it)
        vec.close()
        reason = (str(err).splitlines() or [type(err).__name__])[0][:100]
        raise ConfigError(f"{config_path or run_dir / 'config.yaml'}: train.net_arch = {t.net_arch}: cannot build the policy here ({reason}); "
                          "use narrower layers") from None
    if resume:
        folder = newest_checkpoint(run_dir)
        if folder is None:
            raise CheckpointError(f"{run_dir}: no checkpoint to resume from")
        start = restore(model, folder)
    start_run_folder(run_dir, cfg, command)  # the model is built (and restored): now the run is written
    started = time.perf_counter()
    warm_stats = warm_start(model, vec, cfg, progress) if not resume and t.warm_start.policy else {}
    warm_seconds = time.perf_counter() - started
    model.rollout_buffer.padding_source = vec
    remaining = max(0, t.total_timesteps - start)

    def save(step: int) -> Path:
        return save_checkpoint(model, run_dir, cfg, step)

    callbacks = [
        ProgressCallback(t.total_timesteps, start, vec, disable=not progress),
        MetricsCallback(vec),
        CheckpointCallback(t.checkpoint_every, save),
    ]
    if t.opponents.fraction > 0:
        callbacks.append(opponent_pool(model, vec, cfg, run_dir, resume))
    started = time.perf_counter()
    if remaining > 0:
        model.learn(total_timesteps=remaining, callback=callbacks, reset_num_timesteps=not resume, tb_log_name="ppo")
    else:
        callbacks[0].bar.close()
    ppo_seconds = time.perf_counter() - started
    last = save(model.num_timesteps)
    vec.close()
    stats = dict(vec.episode_stats[-1]) if vec.episode_stats else {}
    stats.update(warm_stats)
    if pm.model == "learned":
        stats.update(fit_priority_model(cfg, last, progress))
    return TrainResult(run_dir, last, model.num_timesteps, vec.episodes_finished, stats,
                       {"warm_start": warm_seconds, "ppo": ppo_seconds, "ppo_decisions": model.num_timesteps - start})


def opponent_pool(model, vec, cfg: TrainConfig, run_dir: Path, resume: bool):
    """The opponent pool of ``train.opponents`` (``interbank.train.pool``), attached to ``vec``
    (a resumed run reloads its snapshots), and the callback that keeps it and logs it."""
    from interbank.train.callbacks import OpponentPoolCallback
    from interbank.train.pool import POOL, OpponentPool, pool_size

    o, t = cfg.train.opponents, cfg.train
    pool = OpponentPool(run_dir / POOL, o.max_size)
    if resume:
        pool.load()
    vec.attach_pool(pool, pool_size(o.fraction, cfg.env.n_banks), t.seed)

    def snapshot(step: int) -> Path:
        weights = {k: v.detach().cpu().numpy() for k, v in model.policy.state_dict().items()}
        return pool.add(step, weights, snapshot_metadata(cfg, step))

    if not pool.snapshots:  # the policy PPO starts from (after the warm start) is the first opponent
        snapshot(int(model.num_timesteps))

    return OpponentPoolCallback(o.snapshot_every, pool, vec, snapshot)


def warm_start(model, vec, cfg: TrainConfig, progress: bool) -> dict[str, float]:
    """Clone the configured rule into the fresh policy (``interbank.train.warm_start``)."""
    from interbank.train.warm_start import collect, pretrain

    ws, t = cfg.train.warm_start, cfg.train
    if progress:
        print(f"warm start: {ws.policy} {ws.params or ''} for {ws.steps} steps x {vec.num_envs} slots, "
              f"{ws.epochs} epochs", file=sys.stderr)
    demos = collect(vec, ws.policy, ws.params, ws.steps, t.gamma)
    return pretrain(model, demos, ws.epochs, ws.batch_size, ws.smoothing, t.seed)


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


def export_sb3_zip(checkpoint: str | Path, out: Path) -> Path:
    """Write SB3's own ``model.zip`` for a checkpoint of the sb3 backend, rebuilt from the safe files
    (for SB3 users: ``MaskablePPO.load``). interbank itself never loads such a zip."""
    from interbank.run_folder import resolve_checkpoint, write_atomic
    from interbank.train.vec_env import BankVecEnv

    folder = resolve_checkpoint(checkpoint)
    data = None
    for parent in folder.parents[:2]:
        data = read_run_config(parent)
        if data is not None:
            break
    if data is None:
        raise CheckpointError(f"{folder}: not inside a run folder (its config.yaml says how to rebuild the model)")
    if (data.get("train") or {}).get("backend", "sb3") != "sb3":
        raise CheckpointError(f"{folder}: only checkpoints of the sb3 backend export to SB3's model.zip")
    if out.exists() and out.is_dir():
        raise ConfigError(f"--out {out}: is a folder; name the zip file to write")
    data["train"]["device"] = "cpu"
    cfg = parse_train_config(data, str(folder.parents[1] / "config.yaml"))
    vec = BankVecEnv(cfg.env, 1, cfg.train.seed)
    try:
        model = build_model(cfg, vec, folder.parents[1])
        restore(model, folder)
        import io

        buf = io.BytesIO()
        model.save(buf)
    finally:
        vec.close()
    write_atomic(out, buf.getvalue())
    return out

"""``interbank train --backend rllib``: the same config and run folder, trained by Ray RLlib.

The banks of each env copy are presented to RLlib's single-agent env runners as one
gymnasium vector env of single-bank slots (``interbank.train.rllib_env``): one batched
forward pass per step for all banks, one policy shared by all of them (RLlib's single
module), RLlib's action-masking PPO module, padding of gone banks masked out of the loss
(``PaddingLossMask``) and out of the decision count (``BankDecisions``). Without
``--address`` a local Ray instance is started; with it the run joins an existing cluster.

The run folder is ``interbank.run_folder``'s: config.yaml (``train.backend: rllib``,
``train.algorithm: rllib_ppo``, the ``rllib:`` section with the runners and address used, so
``--resume`` needs no repeated flags), and checkpoints/<step>/ with ``policy.safetensors``
(the actor under the names the numpy loader reads, plus the module's full state under
``rllib/``), ``policy.json``, and the learner's optimizer state in ``trainer.safetensors`` +
``trainer.json``. ``--resume`` loads the module and the optimizer from those: nothing
pickled is ever loaded.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from interbank.ray_cluster import INSTALL_HINT, connect, require_ray  # noqa: F401 - re-exported for callers
from interbank.run_folder import (
    TRAINER_FORMAT,
    CheckpointError,
    flatten_state,
    load_resume_state,
    newest_checkpoint,
    open_run_folder,
    policy_metadata,
    verify_checkpoint,
    write_checkpoint,
)
from interbank.train.config import TrainConfig
from interbank.train.run import (
    ALGORITHM,
    TrainResult,
    at_budget,
    one_torch_thread_on_cpu,
    prepare_run,
    resolve_run,
    start_run_folder,
    versions,
)

BANK_DECISIONS = "interbank_bank_decisions"  # the key BankDecisions logs under (rllib_connectors)


def _algo_config(cfg: TrainConfig, num_env_runners: int, num_gpus: float):
    from ray.rllib.algorithms.ppo import PPOConfig
    from ray.rllib.core.rl_module.rl_module import RLModuleSpec
    from ray.rllib.examples.rl_modules.classes.action_masking_rlm import (
        ActionMaskingTorchRLModule,
    )

    from interbank.train.rllib_connectors import BankDecisions, PaddingLossMask
    from interbank.train.rllib_env import env_class

    t, r = cfg.train, cfg.rllib
    slots = r.envs_per_env_runner * cfg.env.n_banks
    config = (
        PPOConfig()
        .environment(env_class(), env_config=cfg.env.model_dump(mode="json"))
        .rl_module(rl_module_spec=RLModuleSpec(
            module_class=ActionMaskingTorchRLModule,
            model_config={"fcnet_hiddens": list(t.net_arch), "fcnet_activation": t.activation, "vf_share_layers": False},
        ))
        .env_runners(num_env_runners=num_env_runners, num_envs_per_env_runner=slots,
                     gym_env_vectorize_mode="vector_entry_point", sample_timeout_s=r.sample_timeout_s)
        .callbacks(BankDecisions)
        .learners(num_gpus_per_learner=num_gpus)
        .training(
            lr=t.learning_rate, gamma=t.gamma, lambda_=t.gae_lambda, clip_param=t.clip_range,
            entropy_coeff=t.ent_coef, vf_loss_coeff=t.vf_coef, grad_clip=t.max_grad_norm,
            # one slot step is one bank-decision (or a padding step of a gone bank)
            train_batch_size_per_learner=max(r.train_batch_size, slots * max(1, num_env_runners)),
            minibatch_size=min(r.minibatch_size, r.train_batch_size),
            num_epochs=r.num_epochs,
            learner_connector=lambda obs_space, act_space: PaddingLossMask(),
        )
        .debugging(seed=t.seed)
    )
    return config


def export_weights(module_state: dict[str, Any]) -> dict[str, np.ndarray]:
    """The module's state (the learner's: actor and critic) as numpy: every tensor under ``rllib/<name>``
    plus the actor under the names the numpy loader reads (``mlp_extractor.policy_net.*``, ``action_net.*``)."""
    state = {k: np.asarray(v.detach().cpu().numpy() if hasattr(v, "detach") else v) for k, v in module_state.items()}
    out = {f"rllib/{k}": np.ascontiguousarray(v) for k, v in state.items()}
    for k, v in state.items():
        if k.startswith("encoder.actor_encoder.net.mlp."):
            out["mlp_extractor.policy_net." + k.removeprefix("encoder.actor_encoder.net.mlp.")] = np.ascontiguousarray(v)
        elif k.startswith("pi.net.mlp.0."):
            out["action_net." + k.removeprefix("pi.net.mlp.0.")] = np.ascontiguousarray(v)
    return out


def learner_state(algo) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the trained module's full state, the optimizer state) from the learner, as numpy."""
    from ray.rllib.core import (
        COMPONENT_LEARNER,
        COMPONENT_OPTIMIZER,
        COMPONENT_RL_MODULE,
        DEFAULT_MODULE_ID,
    )

    state = algo.learner_group.get_state(components=[f"{COMPONENT_LEARNER}/{COMPONENT_RL_MODULE}",
                                                     f"{COMPONENT_LEARNER}/{COMPONENT_OPTIMIZER}"])[COMPONENT_LEARNER]
    return state[COMPONENT_RL_MODULE][DEFAULT_MODULE_ID], state[COMPONENT_OPTIMIZER]


def save_checkpoint(algo, run_dir: Path, cfg: TrainConfig, step: int, iteration: int) -> Path:
    """Hand the run folder the module's tensors, the metadata and the learner's optimizer state."""
    t = cfg.train
    meta = policy_metadata(t.net_arch, t.activation, cfg.env.digest(), cfg.env.n_banks, {
        "train": {"step": step, "backend": "rllib", "algorithm": ALGORITHM["rllib"], "seed": t.seed, "iteration": iteration},
        "versions": versions(),
    })
    module_state, optimizer_state = learner_state(algo)
    tensors, spec = flatten_state({"optimizer": optimizer_state})
    trainer = {"format": TRAINER_FORMAT, "backend": "rllib", "algorithm": ALGORITHM["rllib"],
               "num_timesteps": step, "iteration": iteration, "state": spec}
    return write_checkpoint(run_dir, step, export_weights(module_state), meta, tensors, trainer)


def restore(algo, folder: Path) -> tuple[int, int]:
    """Load a verified checkpoint's module and optimizer state into the learner and the env
    runners; returns (step, iteration)."""
    import torch
    from ray.rllib.core import COMPONENT_OPTIMIZER, DEFAULT_MODULE_ID

    meta, state, tree, weights = load_resume_state(folder, "rllib", ("num_timesteps", "iteration"))
    module_state = {k.removeprefix("rllib/"): torch.from_numpy(np.array(v)) for k, v in weights.items() if k.startswith("rllib/")}
    if not module_state:
        raise CheckpointError(f"{folder}: not an RLlib checkpoint of interbank (no rllib/ tensors)")

    def load(learner) -> None:
        learner.module[DEFAULT_MODULE_ID].load_state_dict(module_state)
        learner.set_state({COMPONENT_OPTIMIZER: tree["optimizer"]})

    try:
        algo.learner_group.foreach_learner(load)
    except Exception as err:  # noqa: BLE001 - torch/Ray raise many kinds; the user needs one line
        raise CheckpointError(f"{folder}: the saved module or optimizer does not fit this config ({str(err).splitlines()[0][:100]})") from None
    algo.env_runner_group.sync_weights(from_worker_or_learner_group=algo.learner_group, inference_only=True)
    return state["num_timesteps"], state["iteration"]


def train_rllib(config_path: Path | None, out: Path | None, timesteps: int | None, seed: int | None, device: str | None,
                resume: bool, progress: bool, command: str, address: str | None, num_env_runners: int | None,
                num_gpus: float | None, objective: str | None = None) -> TrainResult:
    require_ray()
    run_dir, cfg = resolve_run(config_path, out, resume, {"total_timesteps": timesteps, "seed": seed, "device": device},
                               backend="rllib",
                               rllib_overrides={"num_env_runners": num_env_runners, "num_gpus": num_gpus, "address": address},
                               objective=objective)
    done = at_budget(run_dir, cfg) if resume else None
    if done is not None:
        return done
    r = cfg.rllib
    folder = None
    if resume:
        open_run_folder(run_dir)  # it exists: only the temporaries a crash left are removed
        folder = newest_checkpoint(run_dir)
        if folder is None:
            raise CheckpointError(f"{run_dir}: no checkpoint to resume from")
        verify_checkpoint(folder)
    ray = connect(r.address, num_cpus=max(2, r.num_env_runners + 1) if not r.address else None)
    one_torch_thread_on_cpu("cuda" if r.num_gpus else "cpu")  # the learner runs in this process; Ray gives runners one thread
    from torch.utils.tensorboard import SummaryWriter
    from tqdm import tqdm

    algo = None
    try:
        algo = _algo_config(cfg, r.num_env_runners, r.num_gpus).build_algo()
        start_step, iteration = restore(algo, folder) if folder is not None else (0, 0)
        start_run_folder(run_dir, cfg, command)  # the algorithm is built (and restored): now the run is written
        writer = SummaryWriter(str(run_dir / "tb" / "rllib"))
        total = cfg.train.total_timesteps
        bar = tqdm(total=total, initial=start_step, unit="dec", unit_scale=True, desc="train (rllib)", disable=not progress)
        step, last_ckpt, stats, episodes = start_step, start_step, {}, 0
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
    """Bank-decisions sampled so far (lifetime), from an ``algo.train()`` result: live banks' actions
    only (RLlib's own env-step count includes the padding steps of gone banks)."""
    return int(result.get("env_runners", {}).get(BANK_DECISIONS, 0) or 0)


def _log(writer, result: dict[str, Any], step: int) -> dict[str, float]:
    env = result.get("env_runners", {})
    out = {}
    for key, tag in (("episode_return_mean", "interbank/episode_return_sum"), ("episode_len_mean", "interbank/episode_length")):
        value = env.get(key)
        if isinstance(value, (int, float)) and np.isfinite(value):
            writer.add_scalar(tag, value, step)
            out[key] = float(value)
    learner = result.get("learners", {}).get("default_policy", {})
    for key in ("policy_loss", "vf_loss", "entropy", "mean_kl_loss", "total_loss"):
        value = learner.get(key)
        if isinstance(value, (int, float)) and np.isfinite(value):
            writer.add_scalar(f"train/{key}", value, step)
            out[key] = float(value)
    return out


# ---------------------------------------------------------------- two policies (issue 21)
def _two_policy_algo_config(cfg: TrainConfig, num_env_runners: int, num_gpus: float):
    """PPO over RLlib's multi-agent API: ``bank_*`` -> the ``banks`` module (one policy shared by
    every bank), ``central_bank`` -> the ``central_bank`` module, each RLlib's action-masking module
    over its own spaces (``interbank.train.rllib_env.two_policy_env_class``)."""
    from ray.rllib.algorithms.ppo import PPOConfig
    from ray.rllib.core.rl_module.multi_rl_module import MultiRLModuleSpec
    from ray.rllib.core.rl_module.rl_module import RLModuleSpec
    from ray.rllib.examples.rl_modules.classes.action_masking_rlm import (
        ActionMaskingTorchRLModule,
    )

    from interbank.train.rllib_env import BANKS_POLICY, CENTRAL_BANK_POLICY, policy_of, two_policy_env_class

    t, r = cfg.train, cfg.rllib
    model = {"fcnet_hiddens": list(t.net_arch), "fcnet_activation": t.activation, "vf_share_layers": False}
    modules = {m: RLModuleSpec(module_class=ActionMaskingTorchRLModule, model_config=dict(model))
               for m in (BANKS_POLICY, CENTRAL_BANK_POLICY)}
    return (
        PPOConfig()
        .environment(two_policy_env_class(), env_config=cfg.env.model_dump(mode="json"))
        .multi_agent(policies={BANKS_POLICY, CENTRAL_BANK_POLICY}, policy_mapping_fn=policy_of)
        .rl_module(rl_module_spec=MultiRLModuleSpec(rl_module_specs=modules))
        # RLlib's multi-agent env runners step one env each
        .env_runners(num_env_runners=num_env_runners, num_envs_per_env_runner=1, sample_timeout_s=r.sample_timeout_s)
        .learners(num_gpus_per_learner=num_gpus)
        .training(
            lr=t.learning_rate, gamma=t.gamma, lambda_=t.gae_lambda, clip_param=t.clip_range,
            entropy_coeff=t.ent_coef, vf_loss_coeff=t.vf_coef, grad_clip=t.max_grad_norm,
            train_batch_size_per_learner=r.train_batch_size, minibatch_size=min(r.minibatch_size, r.train_batch_size),
            num_epochs=r.num_epochs,
        )
        .debugging(seed=t.seed)
    )


def module_steps(result: dict[str, Any], module: str) -> int:
    """Decisions of one module's agents sampled so far (lifetime), from an ``algo.train()`` result."""
    from ray.rllib.utils.metrics import NUM_MODULE_STEPS_SAMPLED_LIFETIME

    steps = result.get("env_runners", {}).get(NUM_MODULE_STEPS_SAMPLED_LIFETIME, {})
    return int(steps.get(module, 0) or 0) if isinstance(steps, dict) else 0


def save_two_policies(algo, out: Path, cfg: TrainConfig, step: int, iteration: int) -> tuple[Path, Path]:
    """Both trained modules as safe checkpoints: ``out/banks/checkpoints/<step>/`` (a bank policy)
    and ``out/central_bank/checkpoints/<step>/`` (a central bank policy), actor and critic under
    ``rllib/``, the actor under the names the numpy loaders read."""
    from ray.rllib.core import COMPONENT_LEARNER, COMPONENT_RL_MODULE

    from interbank.policies.central_bank import central_bank_metadata
    from interbank.train.rllib_env import BANKS_POLICY, CENTRAL_BANK_POLICY

    t = cfg.train
    state = algo.learner_group.get_state(components=f"{COMPONENT_LEARNER}/{COMPONENT_RL_MODULE}")
    modules = state[COMPONENT_LEARNER][COMPONENT_RL_MODULE]
    train = {"step": step, "backend": "rllib", "algorithm": ALGORITHM["rllib"], "seed": t.seed, "iteration": iteration,
             "two_policies": True}
    banks_meta = policy_metadata(t.net_arch, t.activation, cfg.env.digest(), cfg.env.n_banks,
                                 {"train": train, "versions": versions()})
    cb_meta = central_bank_metadata(list(t.net_arch), t.activation, cfg.env.digest(), cfg.env.n_banks,
                                    {"train": train, "versions": versions()})
    return (write_checkpoint(out / "banks", step, export_weights(modules[BANKS_POLICY]), banks_meta),
            write_checkpoint(out / CENTRAL_BANK_POLICY, step, export_weights(modules[CENTRAL_BANK_POLICY]), cb_meta))


def train_both_rllib(config_path: Path | None, out: Path, rule: str, rule_params: dict[str, float] | None,
                     timesteps: int | None, seed: int | None, progress: bool, command: str, address: str | None,
                     num_env_runners: int | None, num_gpus: float | None) -> tuple[Path, Path, int]:
    """Train the banks' shared policy and the central bank's policy together with RLlib (both learn
    from the first step; ``rule`` is recorded as the env's central bank rule, which never decides
    here: RLlib acts for the agent at every step). ``timesteps``: bank-decisions. Writes the
    two-policy run folder of ``interbank.train.central_bank`` (``curriculum.json``, ``banks/``,
    ``central_bank/``) and returns (banks' checkpoint, central bank's, bank-decisions)."""
    import json

    import yaml

    from interbank.config import ConfigError
    from interbank.policies.central_bank import CURRICULUM
    from interbank.train.config import load_train_config
    from interbank.train.rllib_env import BANKS_POLICY, CENTRAL_BANK_POLICY

    require_ray()
    if config_path is None:
        raise ConfigError("--config is required (e.g. configs/train/smoke.yaml)")
    if (out / CURRICULUM).exists():
        raise ConfigError(f"{out} already holds a two-policy run; choose another --out")
    base = load_train_config(config_path).model_dump(mode="json")
    base.setdefault("env", {}).setdefault("central_bank", {}).update(
        {"agent": True, "rule": rule, "rule_params": dict(rule_params or {})})
    out.mkdir(parents=True, exist_ok=True)
    both_config = out / "banks-config.yaml"
    both_config.write_text(yaml.safe_dump(base, sort_keys=False))
    run_dir, cfg = prepare_run(both_config, out / "banks", False, {"total_timesteps": timesteps, "seed": seed}, command,
                               backend="rllib", rllib_overrides={"num_env_runners": num_env_runners, "num_gpus": num_gpus,
                                                                 "address": address})
    (out / CURRICULUM).write_text(json.dumps({
        "scheme": "RLlib multi-agent PPO: the banks and the central bank learn together from the first step",
        "policies": {BANKS_POLICY: "bank_*", CENTRAL_BANK_POLICY: "central_bank"},
        "phases": [{"phase": 1, "learns": "banks and central_bank", "backend": "rllib", "folders": ["banks", "central_bank"],
                    "timesteps": cfg.train.total_timesteps, "central_bank_rule": rule}],
        "config": str(config_path),
    }, indent=2) + "\n")
    r = cfg.rllib
    ray = connect(r.address, num_cpus=max(2, r.num_env_runners + 1) if not r.address else None)
    one_torch_thread_on_cpu("cuda" if r.num_gpus else "cpu")
    from tqdm import tqdm

    algo = None
    try:
        algo = _two_policy_algo_config(cfg, r.num_env_runners, r.num_gpus).build_algo()
        total, step, iteration = cfg.train.total_timesteps, 0, 0
        bar = tqdm(total=total, unit="dec", unit_scale=True, desc="train both (rllib)", disable=not progress)
        while step < total:
            result = algo.train()
            iteration += 1
            new_step = module_steps(result, BANKS_POLICY)
            if new_step <= step:
                raise ConfigError("RLlib sampled no bank decisions in an iteration (check rllib.train_batch_size)")
            bar.update(new_step - step)
            step = new_step
        bar.close()
        banks, central_bank = save_two_policies(algo, out, cfg, step, iteration)
    finally:
        if algo is not None:
            algo.stop()
        ray.shutdown()
    return banks, central_bank, step

"""Training configuration: the ``train:`` section of a training YAML (beside ``env:``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from interbank.config import (
    MAX_SEED,
    MAX_WORKERS,
    EnvConfig,
    _Strict,
    check_top_level,
    parse_env_config,
    parse_section,
    read_yaml,
)
from interbank.envs.observation import N_FEATURES
from interbank.run_folder import ACTIVATIONS, MAX_HIDDEN
from interbank.sim.actions import N_ACTIONS

MAX_POLICY_PARAMETERS = 50_000_000
"""The most parameters the shared policy (actor and critic together) may have. 50 million float32
weights are 200 MB, about 800 MB with their gradients and Adam's two moments, and every PPO update
passes every bank-decision through them: far beyond a bank's 30-odd features and 5 actions (the
measured recipe's [64, 64] has 12 thousand; [2048, 2048, 2048] has 17 million and still fits).
Above it a net_arch is a slip (``[100000, 100000]``: 20 billion, which fails to allocate after
minutes), refused before anything is written."""

ALGORITHM: dict[str, str] = {"sb3": "maskable_ppo", "rllib": "rllib_ppo"}
"""Each backend (``train.backend``, ``interbank train --backend``) and the algorithm it runs (``train.algorithm``)."""
DEVICES: tuple[str, ...] = ("auto", "cpu", "cuda")
"""``train.device``'s choices (``interbank train --device`` offers the same)."""

Width = Annotated[int, Field(ge=1, le=MAX_HIDDEN)]
"""A hidden layer's width: what a checkpoint's loader accepts (``interbank.run_folder.check_metadata``)."""


def mlp_parameters(n_in: int, hidden: list[int], n_out: int) -> int:
    """Weights and biases of an MLP ``n_in`` -> ``hidden`` -> ``n_out``."""
    widths = [n_in, *hidden, n_out]
    return sum((a + 1) * b for a, b in zip(widths, widths[1:]))


def policy_parameters(hidden: list[int], critic: str = "local") -> int:
    """Parameters of the shared bank policy as training builds it: an actor from the bank's
    observation to its actions and a critic (separate layers of the same widths) from the bank's
    observation, plus the system summary with the central critic, to one value."""
    from interbank.train.critic import N_GLOBAL  # numpy only

    critic_in = N_FEATURES + (N_GLOBAL if critic == "central" else 0)
    return mlp_parameters(N_FEATURES, hidden, N_ACTIONS) + mlp_parameters(critic_in, hidden, 1)


class WarmStartSettings(_Strict):
    """Clone a reference rule into the policy before PPO (section ``train.warm_start``; see
    ``interbank.train.warm_start``). ``policy``: a baseline's name (``lend_surplus``,
    ``heuristic``, ...; none: no warm start) with its ``params``; ``steps``: steps of every
    training slot the rule plays (``steps x n_envs x n_banks`` samples); ``epochs`` over them
    in minibatches of ``batch_size``;
    ``smoothing``: the share of the actor's target spread over the allowed actions."""

    policy: str | None = None
    params: dict[str, float] = Field(default_factory=dict, max_length=8)
    steps: int = Field(default=300, ge=1, le=100_000)
    epochs: int = Field(default=30, ge=1, le=1000)
    batch_size: int = Field(default=1024, ge=16, le=1_000_000)
    smoothing: float = Field(default=0.1, ge=0, lt=1, allow_inf_nan=False)

    @model_validator(mode="after")
    def _known_rule(self) -> "WarmStartSettings":
        if self.policy is None:
            return self
        from interbank.policies import RULES, make_policy

        if self.policy not in RULES:
            raise ValueError(f"unknown rule {self.policy!r}; choose one of {', '.join(RULES)}")
        make_policy(self.policy, **self.params)  # its parameters' names and bounds (one-line ValueError)
        return self


class OpponentSettings(_Strict):
    """The opponent pool (section ``train.opponents``; see ``interbank.train.pool``): ``fraction``
    of each env copy's banks (at least one, never all; 0: off, plain self-play) play a frozen
    past snapshot of the shared policy, drawn per episode from the newest ``max_size`` snapshots,
    one taken every ``snapshot_every`` bank-decisions (and one when PPO starts). Only the other
    banks' samples train."""

    fraction: float = Field(default=0.0, ge=0, lt=1, allow_inf_nan=False)
    snapshot_every: int = Field(default=64_000, ge=1)
    max_size: int = Field(default=5, ge=1, le=1000)


class TrainSettings(_Strict):
    """Masked PPO with one policy shared by all banks.

    ``backend`` picks stable-baselines3 or Ray RLlib (``train --backend`` overrides it; a config
    that names only ``algorithm`` picks that algorithm's backend; both, disagreeing, are refused);
    ``algorithm`` is set by the backend to the one it really runs (``maskable_ppo``: sb3-contrib's MaskablePPO; ``rllib_ppo``:
    RLlib's PPO with its action-masking module), so a run folder's config.yaml says what ran.

    Timesteps count bank-decisions (a step of a 20-bank network with ``n_envs``
    copies is 20 x n_envs timesteps). ``n_steps`` is the rollout length per bank
    slot, so one rollout holds up to n_steps x n_banks x n_envs samples.

    ``lr_schedule``: ``constant``, or ``linear`` from ``learning_rate`` at the start to 0 at
    ``total_timesteps`` (as in CleanRL's PPO; late updates small, so a policy that has found a
    strategy does not drift off it at the end of the budget).

    ``critic``: ``local`` (the value function sees the bank's observation) or ``central`` (it
    also sees a summary of the whole system, ``interbank.train.critic``; the actor still sees
    only the bank's own observation). ``opponents``: the opponent pool (``OpponentSettings``).

    ``net_arch``: the widths of the hidden layers (1 to ``MAX_HIDDEN`` each, the policy at most
    ``MAX_POLICY_PARAMETERS`` parameters).

    ``env_workers``: processes that step the ``n_envs`` env copies (1: all in this process; 2 on a
    2-core machine; at most ``n_envs``). Any number gives the same run, weights included
    (``interbank.train.worker_vec_env``); PPO itself stays in the main process.
    """

    backend: Literal[tuple(ALGORITHM)] = "sb3"  # type: ignore[valid-type]
    algorithm: Literal[tuple(ALGORITHM.values())] = "maskable_ppo"  # type: ignore[valid-type]
    total_timesteps: int = Field(default=200_000, ge=1)
    n_envs: int = Field(default=4, ge=1, le=256)
    env_workers: int = Field(default=1, ge=1, le=MAX_WORKERS)
    n_steps: int = Field(default=64, ge=2)
    batch_size: int = Field(default=2048, ge=2)
    n_epochs: int = Field(default=4, ge=1)
    learning_rate: float = Field(default=3e-4, gt=0, le=1, allow_inf_nan=False)
    lr_schedule: Literal["constant", "linear"] = "constant"
    gamma: float = Field(default=0.99, gt=0, le=1, allow_inf_nan=False)
    gae_lambda: float = Field(default=0.95, ge=0, le=1, allow_inf_nan=False)
    clip_range: float = Field(default=0.2, gt=0, le=1, allow_inf_nan=False)
    ent_coef: float = Field(default=0.01, ge=0, allow_inf_nan=False)
    vf_coef: float = Field(default=0.5, ge=0, allow_inf_nan=False)
    max_grad_norm: float = Field(default=0.5, gt=0, allow_inf_nan=False)
    net_arch: list[Width] = Field(default_factory=lambda: [64, 64], min_length=1, max_length=8)
    activation: Literal[ACTIVATIONS] = "tanh"  # type: ignore[valid-type]  # what a checkpoint's loader accepts
    checkpoint_every: int = Field(default=50_000, ge=1)
    seed: int = Field(default=0, ge=0, le=MAX_SEED)
    device: Literal[DEVICES] = "auto"  # type: ignore[valid-type]
    warm_start: WarmStartSettings = Field(default_factory=WarmStartSettings)
    critic: Literal["local", "central"] = "local"
    opponents: OpponentSettings = Field(default_factory=OpponentSettings)

    @model_validator(mode="after")
    def _algorithm_of_backend(self) -> "TrainSettings":
        if {"backend", "algorithm"} <= self.model_fields_set and ALGORITHM[self.backend] != self.algorithm:
            raise ValueError(f"train.algorithm = {self.algorithm} is not what the {self.backend} backend runs "
                             f"({ALGORITHM[self.backend]}): give one of train.backend and train.algorithm")
        return self

    @model_validator(mode="after")
    def _policy_size(self) -> "TrainSettings":
        n = policy_parameters(self.net_arch, self.critic)
        if n > MAX_POLICY_PARAMETERS:
            raise ValueError(f"train.net_arch = {self.net_arch} makes a policy of {n:,} parameters (actor and critic), "
                             f"more than {MAX_POLICY_PARAMETERS:,}: use narrower layers")
        return self


class PriorityModelSettings(_Strict):
    """Which priority model the banks get (section ``priority_model:``).

    ``rule_based`` (default): the transparent rules of ``env.priority``. ``learned``:
    PPO trains with exploring priorities (each bank's priority is, with probability
    ``exploration``, a random one held for ``hold`` steps, so the action policy learns to
    follow any priority), then a linear contextual bandit is fitted on ``episodes``
    episodes of outcomes over ``horizon`` steps (discount ``gamma``, ridge ``ridge``)
    and saved beside the policy (``priority.safetensors`` + ``priority.json``).
    """

    model: Literal["rule_based", "learned"] = "rule_based"
    exploration: float = Field(default=0.3, ge=0, le=1, allow_inf_nan=False)
    hold: int = Field(default=5, ge=1)
    episodes: int = Field(default=40, ge=1)
    horizon: int = Field(default=10, ge=1)
    gamma: float = Field(default=0.95, gt=0, le=1, allow_inf_nan=False)
    ridge: float = Field(default=1.0, ge=0, allow_inf_nan=False)


class RllibSettings(_Strict):
    """What only the RLlib backend needs (section ``rllib:``): env runners, env copies per runner
    (each presented to RLlib as ``n_banks`` single-bank slots of one vector env), the train batch
    per learner (bank-decisions), minibatch size, epochs, sampling timeout, GPUs per learner, and
    the Ray cluster to join (``--address``; none: a local Ray instance)."""

    num_env_runners: int = Field(default=2, ge=0, le=1024)
    envs_per_env_runner: int = Field(default=1, ge=1, le=256)
    address: str | None = Field(default=None, max_length=300)
    train_batch_size: int = Field(default=4000, ge=16)
    minibatch_size: int = Field(default=1000, ge=8)
    num_epochs: int = Field(default=4, ge=1)
    sample_timeout_s: float = Field(default=300.0, gt=0, allow_inf_nan=False)
    num_gpus: float = Field(default=0.0, ge=0, allow_inf_nan=False)


class TrainConfig(_Strict):
    """A whole training file: the scenario (``env``), the learner (``train``) and the
    priority model (``priority_model``)."""

    env: EnvConfig = Field(default_factory=EnvConfig)
    train: TrainSettings = Field(default_factory=TrainSettings)
    priority_model: PriorityModelSettings = Field(default_factory=PriorityModelSettings)
    rllib: RllibSettings = Field(default_factory=RllibSettings)


def parse_train_config(data: dict[str, Any], source: str) -> TrainConfig:
    check_top_level(data, {"env", "train", "priority_model", "rllib", "facts"}, source)  # facts: interbank facts
    env = parse_env_config(data.get("env"), source=source)
    sections = {key: parse_section(data.get(key), model, source, key) for key, model in
                (("train", TrainSettings), ("priority_model", PriorityModelSettings), ("rllib", RllibSettings))}
    return TrainConfig(env=env, **sections)


def load_train_config(path: str | Path) -> TrainConfig:
    return parse_train_config(read_yaml(path), str(path))

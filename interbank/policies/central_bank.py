"""A trained central bank policy from a safe checkpoint (``policy.safetensors`` + ``policy.json``).

The checkpoint has the bank policy's format (``interbank-policy/1``, checked and verified by
``interbank.run_folder``) with ``"agent": "central_bank"``, the central bank's observation
features (``CB_FEATURE_NAMES``) and moves (``CB_ACTIONS``): a bank policy loader refuses it (the
features differ) and this one refuses a bank policy. Nothing is unpickled.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from interbank.config import ConfigError
from interbank.envs.central_bank_observation import CB_FEATURE_NAMES, N_CB_FEATURES
from interbank.policies.actor import ActorMLP
from interbank.run_folder import FORMAT, TRAINER_FILES, CheckpointError, load_tensors, resolve_checkpoint, verify_checkpoint
from interbank.sim.central_bank import CB_ACTIONS, N_CB_ACTIONS

AGENT = "central_bank"
CURRICULUM = "curriculum.json"
"""A two-policy run folder's plan and progress (``interbank.train.central_bank``)."""


def central_bank_metadata(hidden: list[int], activation: str, env_digest: str, n_banks: int,
                          extra: dict[str, Any]) -> dict[str, Any]:
    """``policy.json`` of a central bank MLP policy; ``extra`` adds ``train``, ``versions`` ..."""
    return {
        "format": FORMAT, "agent": AGENT,
        "architecture": {"type": "mlp", "hidden": list(hidden), "activation": activation},
        "observation": {"size": N_CB_FEATURES, "features": list(CB_FEATURE_NAMES)},
        "actions": list(CB_ACTIONS),
        "env": {"config_digest": env_digest, "n_banks": n_banks},
        **extra,
    }


class CentralBankMLP(ActorMLP):
    """A trained central bank: the actor MLP of a MaskablePPO policy, in numpy. Called as a
    ``central_bank_policy``: ``policy(observation float32[N_CB_FEATURES], mask) -> move`` (the most
    likely allowed move). Fields: ``name``, ``meta`` (its policy.json), ``layers``, ``head``."""

    def __init__(self, weights: dict[str, np.ndarray], meta: dict[str, Any], name: str = "learned") -> None:
        super().__init__(weights, meta, name, N_CB_FEATURES, N_CB_ACTIONS)

    def __call__(self, observation: np.ndarray, mask: np.ndarray) -> int:
        z = np.where(np.asarray(mask, bool), self.logits(observation), -np.inf)
        return int(np.argmax(z))


def load_central_bank_policy(path: str | Path, name: str = "learned") -> CentralBankMLP:
    """Load a central bank policy from its run folder, checkpoint folder or either file of the pair;
    anything else (a bank policy, a changed feature table) is refused in one line."""
    folder = resolve_checkpoint(path)
    meta = verify_checkpoint(folder, may_lack=TRAINER_FILES)
    if meta.get("agent") != AGENT:
        raise CheckpointError(f"{folder}: not a central bank policy (policy.json has no \"agent\": \"central_bank\")")
    if list(meta["observation"]["features"]) != list(CB_FEATURE_NAMES):
        raise CheckpointError(f"{folder}: the policy's observation features are not this env's central bank features")
    if list(meta["actions"]) != list(CB_ACTIONS):
        raise CheckpointError(f"{folder}: the policy's moves {meta['actions']} are not this env's {list(CB_ACTIONS)}")
    try:
        return CentralBankMLP(load_tensors(folder / "policy.safetensors"), meta, name)
    except CheckpointError as err:
        raise CheckpointError(f"{folder}: {err}") from None


def read_curriculum(out: Path) -> dict[str, Any]:
    """The plan and progress of a two-policy run folder (``curriculum.json``)."""
    path = Path(out) / CURRICULUM
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{out} is not a two-policy run (no {CURRICULUM})") from None
    except (OSError, ValueError) as err:
        raise ConfigError(f"{path}: unreadable ({err})") from None
    if not isinstance(data, dict) or "phases" not in data:
        raise ConfigError(f"{path}: not a curriculum (no phases)")
    data.setdefault("rounds", 1)
    data.setdefault("done", [])
    return data


def load_two_policy_run(out: Path) -> tuple[Any, CentralBankMLP]:
    """(the banks' policy, the central bank's) of a finished two-policy run: its last round's."""
    from interbank.policies.checkpoint import load_policy

    plan = read_curriculum(out)
    if len(plan["done"]) < len(plan["phases"]):
        raise ConfigError(f"{out}: the two-policy run is unfinished ({len(plan['done'])} of {len(plan['phases'])} "
                          "phases): continue it with interbank train --resume --out " + str(out))
    last = {d["learns"]: d["checkpoint"] for d in plan["done"]}
    return load_policy(out / last["banks"]), load_central_bank_policy(out / last["central_bank"])


def two_policy_run(path: str | Path) -> tuple[Path, Path] | None:
    """(the banks' run folder, the central bank's folder) when ``path`` is a two-policy run folder
    (``curriculum.json``, ``banks/``, ``central_bank/``), else ``None``."""
    p = Path(path)
    if p.is_dir() and (p / CURRICULUM).is_file() and (p / "banks").is_dir() and (p / AGENT).is_dir():
        return p / "banks", p / AGENT
    return None

"""Safe checkpoints: ``policy.safetensors`` (weights only) + ``policy.json`` (what they mean).

Loading never unpickles anything: safetensors holds raw tensors, the JSON says
the architecture, the observation layout, the action order and the env the
policy was trained on. A checkpoint that does not fit the env is refused with a
message naming the mismatch.

``policy.json`` fields: ``format`` ("interbank-policy/1"), ``architecture``
(``{"type": "mlp", "hidden": [64, 64], "activation": "tanh"}``),
``observation`` (``{"size": 20, "features": [...]}``), ``actions`` (names in
order), ``priorities``, ``env`` (``config_digest``, ``n_banks``), ``train``
(``step``, ``backend``, ``algorithm``, ``seed``), ``versions``, ``files`` (SHA-256 of the
checkpoint's other files). The run-folder layout, writing, finding and verifying
checkpoints live in ``interbank.run_folder``; this module turns one into a policy.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from interbank.envs.observation import FEATURE_NAMES, N_FEATURES
from interbank.policies.actor import ActorMLP
from interbank.policies.central_bank import two_policy_run
from interbank.run_folder import (
    ACTIVATIONS,
    FORMAT,
    META,
    TRAINER_FILES,
    WEIGHTS,
    CheckpointError,
    load_tensors,
    newest_checkpoint,
    policy_metadata,
    read_json,
    read_metadata,
    resolve_checkpoint,
    verify_checkpoint,
    write_atomic,
)
from interbank.sim.actions import ACTIONS, PRIORITIES

__all__ = [
    "ACTIVATIONS", "FORMAT", "META", "WEIGHTS", "CheckpointError", "MLPPolicy", "check_compatible", "load_checkpoint",
    "load_policy", "load_priority_model", "newest_checkpoint", "policy_metadata", "read_metadata", "resolve_checkpoint",
    "write_priority_model",
]


def check_compatible(meta: dict[str, Any], source: str) -> None:
    """Refuse a policy (metadata already checked for shape) whose observation layout or action set is not this env's."""
    obs = meta["observation"]
    if obs["size"] != N_FEATURES:
        raise CheckpointError(f"{source}: the policy observes {obs['size']} features, this env gives {N_FEATURES}")
    theirs = list(obs["features"])
    if theirs != list(FEATURE_NAMES):
        diff = next((i for i, (a, b) in enumerate(zip(theirs, FEATURE_NAMES)) if a != b), min(len(theirs), N_FEATURES))
        raise CheckpointError(f"{source}: observation feature {diff} differs (policy: {theirs[diff] if diff < len(theirs) else None!r}, env: {FEATURE_NAMES[diff] if diff < N_FEATURES else None!r})")
    if list(meta["actions"]) != list(ACTIONS):
        raise CheckpointError(f"{source}: the policy's actions {meta['actions']} are not this env's {list(ACTIONS)}")


def load_weights(folder: Path) -> dict[str, np.ndarray]:
    return load_tensors(folder / WEIGHTS)


class MLPPolicy(ActorMLP):
    """A trained shared bank policy: the actor MLP of a MaskablePPO policy, in numpy.

    ``act`` returns the most likely allowed action (deterministic); ``probabilities``
    the masked action distribution. No torch needed to run it.
    """

    def __init__(self, weights: dict[str, np.ndarray], meta: dict[str, Any], name: str = "trained") -> None:
        super().__init__(weights, meta, name, N_FEATURES, len(ACTIONS))

    def reset(self, seed: int | None = None) -> None:
        pass

    def probabilities(self, observations: np.ndarray, action_masks: np.ndarray) -> np.ndarray:
        z = np.where(np.asarray(action_masks, bool), self.logits(observations), -np.inf)
        z = z - z.max(axis=1, keepdims=True)
        p = np.exp(z)
        return p / p.sum(axis=1, keepdims=True)

    def act(self, observations: np.ndarray, action_masks: np.ndarray) -> np.ndarray:
        z = np.where(np.asarray(action_masks, bool), self.logits(observations), -np.inf)
        return np.argmax(z, axis=1).astype(np.int64)


def load_policy(path: str | Path, name: str = "trained") -> MLPPolicy:
    """Load a policy from a run folder, a checkpoint folder or either file of the pair."""
    folder = resolve_checkpoint(path)
    meta = verify_checkpoint(folder, may_lack=TRAINER_FILES)  # (a policy plays without its learner's state)
    check_compatible(meta, str(folder))
    weights = load_weights(folder)
    try:
        return MLPPolicy(weights, meta, name)
    except CheckpointError as err:
        raise CheckpointError(f"{folder}: {err}") from None


# ------------------------------------------------------------ priority model
PRIORITY_FORMAT = "interbank-priority/1"
PRIORITY_WEIGHTS = "priority.safetensors"
PRIORITY_META = "priority.json"


def write_priority_model(folder: Path, weights: np.ndarray, extra: dict[str, Any]) -> None:
    """Save a learned priority model beside a policy (each file written atomically)."""
    from safetensors.numpy import save

    from interbank.envs.observation import BASE_FEATURES

    meta = {
        "format": PRIORITY_FORMAT, "type": "linear_q",
        "features": [name for name, _ in BASE_FEATURES], "priorities": list(PRIORITIES),
        "weights_shape": list(weights.shape), **extra,
    }
    write_atomic(folder / PRIORITY_WEIGHTS, save({"weights": np.ascontiguousarray(weights, dtype=np.float64)}))
    write_atomic(folder / PRIORITY_META, json.dumps(meta, indent=2))


def load_priority_model(path: str | Path):
    """The learned priority model saved with a checkpoint, or None if it has none.
    A model that does not fit this env's features or priorities is refused."""
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    from interbank.envs.observation import BASE_FEATURES
    from interbank.envs.priority import LearnedPriority

    folder = resolve_checkpoint(path)
    meta_path = folder / PRIORITY_META
    if not meta_path.is_file():
        return None
    meta = read_json(meta_path, PRIORITY_META)
    if not isinstance(meta, dict) or meta.get("format") != PRIORITY_FORMAT or meta.get("type") != "linear_q":
        raise CheckpointError(f"{meta_path}: not an interbank priority model (format {PRIORITY_FORMAT!r}, type linear_q)")
    names = [name for name, _ in BASE_FEATURES]
    if list(meta.get("features") or []) != names:
        raise CheckpointError(
            f"{meta_path}: the priority model reads {len(meta.get('features') or [])} features "
            f"{(meta.get('features') or [])[:3]}..., this env gives {len(names)} {names[:3]}..."
        )
    if list(meta.get("priorities") or []) != list(PRIORITIES):
        raise CheckpointError(f"{meta_path}: priorities {meta.get('priorities')} are not this env's {list(PRIORITIES)}")
    try:
        weights = load_file(str(folder / PRIORITY_WEIGHTS))["weights"]
    except (SafetensorError, OSError, KeyError, ValueError):
        raise CheckpointError(f"{folder / PRIORITY_WEIGHTS}: missing or not a valid safetensors file with 'weights'") from None
    try:
        return LearnedPriority(weights)
    except ValueError as err:
        raise CheckpointError(f"{folder}: {err}") from None


def load_checkpoint(path: str | Path):
    """(policy, learned priority model or None, checkpoint folder). A two-policy run folder
    (banks + central bank, ``interbank.train.central_bank``) gives its banks' policy."""
    both = two_policy_run(path)
    folder = resolve_checkpoint(both[0] if both else path)
    return load_policy(folder), load_priority_model(folder), folder

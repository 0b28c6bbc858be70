"""Safe checkpoints: ``policy.safetensors`` (weights only) + ``policy.json`` (what they mean).

Loading never unpickles anything: safetensors holds raw tensors, the JSON says
the architecture, the observation layout, the action order and the env the
policy was trained on. A checkpoint that does not fit the env is refused with a
message naming the mismatch.

``policy.json`` fields: ``format`` ("interbank-policy/1"), ``architecture``
(``{"type": "mlp", "hidden": [64, 64], "activation": "tanh"}``),
``observation`` (``{"size": 20, "features": [...]}``), ``actions`` (names in
order), ``priorities``, ``env`` (``config_digest``, ``n_banks``), ``train``
(``step``, ``algorithm``, ``seed``, ``algorithm_zip_sha256``), ``versions``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from interbank.envs.observation import FEATURE_NAMES, N_FEATURES
from interbank.sim.actions import ACTIONS, PRIORITIES

FORMAT = "interbank-policy/1"
WEIGHTS = "policy.safetensors"
META = "policy.json"
ACTIVATIONS = ("tanh", "relu")


class CheckpointError(ValueError):
    """A checkpoint that cannot be used: the message is one line naming why."""


def policy_metadata(hidden: list[int], activation: str, env_digest: str, n_banks: int, extra: dict[str, Any]) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "architecture": {"type": "mlp", "hidden": list(hidden), "activation": activation},
        "observation": {"size": N_FEATURES, "features": list(FEATURE_NAMES)},
        "actions": list(ACTIONS),
        "priorities": list(PRIORITIES),
        "env": {"config_digest": env_digest, "n_banks": n_banks},
        **extra,
    }


def newest_checkpoint(run_dir: Path) -> Path | None:
    """The newest complete checkpoint folder of a run (``checkpoints/<step>/``)."""
    root = run_dir / "checkpoints"
    if not root.is_dir():
        return None
    steps = sorted((int(p.name), p) for p in root.iterdir() if p.is_dir() and p.name.isdigit())
    for _, path in reversed(steps):
        if (path / WEIGHTS).is_file() and (path / META).is_file():
            return path
    return None


def resolve_checkpoint(path: str | Path) -> Path:
    """A run folder, a checkpoint folder, or either file of the pair -> the checkpoint folder."""
    p = Path(path)
    if not p.exists():
        raise CheckpointError(f"{p}: no such checkpoint or run folder")
    if p.is_file():
        if p.name not in (WEIGHTS, META):
            raise CheckpointError(f"{p}: expected {WEIGHTS} or {META} (other files are never loaded)")
        return p.parent
    if (p / WEIGHTS).is_file() or (p / META).is_file():
        return p
    found = newest_checkpoint(p)
    if found is None:
        raise CheckpointError(f"{p}: no checkpoint found (expected {WEIGHTS} and {META}, or checkpoints/<step>/ inside)")
    return found


def read_metadata(folder: Path) -> dict[str, Any]:
    meta_path = folder / META
    if not meta_path.is_file():
        raise CheckpointError(f"{folder}: {META} is missing")
    try:
        meta = json.loads(meta_path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise CheckpointError(f"{meta_path}: not valid JSON") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise CheckpointError(f"{meta_path}: not an interbank policy (format should be {FORMAT!r})")
    return meta


def check_compatible(meta: dict[str, Any], source: str) -> None:
    """Refuse a policy whose observation layout or action set is not this env's."""
    obs = meta.get("observation") or {}
    if obs.get("size") != N_FEATURES:
        raise CheckpointError(f"{source}: the policy observes {obs.get('size')} features, this env gives {N_FEATURES}")
    if list(obs.get("features") or []) != list(FEATURE_NAMES):
        theirs = list(obs.get("features") or [])
        diff = next((i for i, (a, b) in enumerate(zip(theirs, FEATURE_NAMES)) if a != b), min(len(theirs), N_FEATURES))
        raise CheckpointError(f"{source}: observation feature {diff} differs (policy: {theirs[diff] if diff < len(theirs) else None!r}, env: {FEATURE_NAMES[diff]!r})")
    if list(meta.get("actions") or []) != list(ACTIONS):
        raise CheckpointError(f"{source}: the policy's actions {meta.get('actions')} are not this env's {list(ACTIONS)}")
    arch = meta.get("architecture") or {}
    if arch.get("type") != "mlp" or arch.get("activation") not in ACTIVATIONS or not arch.get("hidden"):
        raise CheckpointError(f"{source}: unsupported architecture {arch}")


def load_weights(folder: Path) -> dict[str, np.ndarray]:
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    path = folder / WEIGHTS
    if not path.is_file():
        raise CheckpointError(f"{folder}: {WEIGHTS} is missing")
    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError) as err:
        raise CheckpointError(f"{path}: not a valid safetensors file ({str(err).splitlines()[0][:80]})") from None


class MLPPolicy:
    """A trained shared bank policy: the actor MLP of a MaskablePPO policy, in numpy.

    ``act`` returns the most likely allowed action (deterministic); ``probabilities``
    the masked action distribution. No torch needed to run it.
    """

    def __init__(self, weights: dict[str, np.ndarray], meta: dict[str, Any], name: str = "trained") -> None:
        self.name = name
        self.meta = meta
        arch = meta["architecture"]
        self.activation = np.tanh if arch["activation"] == "tanh" else (lambda x: np.maximum(x, 0.0))
        self.layers: list[tuple[np.ndarray, np.ndarray]] = []
        size = N_FEATURES
        for k, width in enumerate(arch["hidden"]):
            w, b = _get(weights, f"mlp_extractor.policy_net.{2 * k}.weight"), _get(weights, f"mlp_extractor.policy_net.{2 * k}.bias")
            if w.shape != (width, size) or b.shape != (width,):
                raise CheckpointError(f"layer {k} has shape {w.shape}, the architecture says ({width}, {size})")
            self.layers.append((w.astype(np.float64), b.astype(np.float64)))
            size = width
        w, b = _get(weights, "action_net.weight"), _get(weights, "action_net.bias")
        if w.shape != (len(ACTIONS), size):
            raise CheckpointError(f"action_net has shape {w.shape}, expected ({len(ACTIONS)}, {size})")
        self.head = (w.astype(np.float64), b.astype(np.float64))

    def reset(self, seed: int | None = None) -> None:
        pass

    def logits(self, observations: np.ndarray) -> np.ndarray:
        x = np.asarray(observations, dtype=np.float64)
        for w, b in self.layers:
            x = self.activation(x @ w.T + b)
        return x @ self.head[0].T + self.head[1]

    def probabilities(self, observations: np.ndarray, action_masks: np.ndarray) -> np.ndarray:
        z = np.where(np.asarray(action_masks, bool), self.logits(observations), -np.inf)
        z = z - z.max(axis=1, keepdims=True)
        p = np.exp(z)
        return p / p.sum(axis=1, keepdims=True)

    def act(self, observations: np.ndarray, action_masks: np.ndarray) -> np.ndarray:
        z = np.where(np.asarray(action_masks, bool), self.logits(observations), -np.inf)
        return np.argmax(z, axis=1).astype(np.int64)


def _get(weights: dict[str, np.ndarray], key: str) -> np.ndarray:
    if key not in weights:
        raise CheckpointError(f"the weights have no tensor {key!r}")
    return weights[key]


def load_policy(path: str | Path, name: str = "trained") -> MLPPolicy:
    """Load a policy from a run folder, a checkpoint folder or either file of the pair."""
    folder = resolve_checkpoint(path)
    meta = read_metadata(folder)
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
    import os

    from safetensors.numpy import save_file

    from interbank.envs.observation import BASE_FEATURES

    meta = {
        "format": PRIORITY_FORMAT, "type": "linear_q",
        "features": [name for name, _ in BASE_FEATURES], "priorities": list(PRIORITIES),
        "weights_shape": list(weights.shape), **extra,
    }
    tmp_w, tmp_m = folder / f".{PRIORITY_WEIGHTS}.tmp", folder / f".{PRIORITY_META}.tmp"
    save_file({"weights": np.ascontiguousarray(weights, dtype=np.float64)}, str(tmp_w))
    tmp_m.write_text(json.dumps(meta, indent=2))
    os.replace(tmp_w, folder / PRIORITY_WEIGHTS)
    os.replace(tmp_m, folder / PRIORITY_META)


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
    try:
        meta = json.loads(meta_path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise CheckpointError(f"{meta_path}: not valid JSON") from None
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
    """(policy, learned priority model or None, checkpoint folder)."""
    folder = resolve_checkpoint(path)
    return load_policy(folder), load_priority_model(folder), folder

"""The actor MLP of a MaskablePPO policy, in numpy: what a bank policy and a central bank policy
loaded from a safe checkpoint (safetensors + JSON) share. No torch needed to run it."""

from __future__ import annotations

from typing import Any

import numpy as np

from interbank.run_folder import ACTIVATIONS, CheckpointError

NUMPY_ACTIVATIONS: dict[str, Any] = {"tanh": np.tanh, "relu": lambda x: np.maximum(x, 0.0)}
"""Each activation a checkpoint may name -> its numpy function (the same as the trainer's
``torch.nn`` module, ``run_folder.TORCH_ACTIVATIONS``)."""
assert tuple(NUMPY_ACTIVATIONS) == ACTIVATIONS, "every activation a checkpoint may name needs its numpy function"


class ActorMLP:
    """The actor MLP of a MaskablePPO policy, in numpy: ``layers`` (weight, bias) pairs with the
    architecture's activation, then ``head`` (weight, bias) to one logit per action. Fields:
    ``name``, ``meta`` (its policy.json), ``layers``, ``head``. Checked against ``n_in`` features
    and ``n_out`` actions; a mismatch is a one-line ``CheckpointError``."""

    def __init__(self, weights: dict[str, np.ndarray], meta: dict[str, Any], name: str, n_in: int, n_out: int) -> None:
        self.name = name
        self.meta = meta
        arch = meta["architecture"]
        self.activation = NUMPY_ACTIVATIONS[arch["activation"]]  # (``verify_checkpoint`` admits only these names)
        self.layers: list[tuple[np.ndarray, np.ndarray]] = []
        size = n_in
        for k, width in enumerate(arch["hidden"]):
            w, b = _get(weights, f"mlp_extractor.policy_net.{2 * k}.weight"), _get(weights, f"mlp_extractor.policy_net.{2 * k}.bias")
            if w.shape != (width, size) or b.shape != (width,):
                raise CheckpointError(f"layer {k} has shape {w.shape}, the architecture says ({width}, {size})")
            self.layers.append((w.astype(np.float64), b.astype(np.float64)))
            size = width
        w, b = _get(weights, "action_net.weight"), _get(weights, "action_net.bias")
        if w.shape != (n_out, size):
            raise CheckpointError(f"action_net has shape {w.shape}, expected ({n_out}, {size})")
        self.head = (w.astype(np.float64), b.astype(np.float64))

    def logits(self, observations: np.ndarray) -> np.ndarray:
        x = np.asarray(observations, dtype=np.float64)
        for w, b in self.layers:
            x = self.activation(x @ w.T + b)
        return x @ self.head[0].T + self.head[1]


def _get(weights: dict[str, np.ndarray], key: str) -> np.ndarray:
    if key not in weights:
        raise CheckpointError(f"the weights have no tensor {key!r}")
    return weights[key]

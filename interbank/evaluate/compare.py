"""``--compare NAME=package.module:factory``: bring your own policy to ``interbank evaluate``.

``factory()`` returns an object with ``act(observations, masks) -> actions`` over a batch of
banks (float32[n, F] with F = len(interbank.envs.observation.FEATURES) + 3, int8[n, 5] ->
int[n]) and, optionally, ``reset(seed)``. Every action must be in 0..4 and allowed by its row of
the mask: the env would run any other as HOLD, and the policy would be scored on moves it did not
choose, so ``interbank evaluate`` stops with a one-line error instead.
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from interbank.sim.actions import ACTIONS

_NAME = re.compile(r"^[A-Za-z0-9_.\-]{1,40}$")
_TARGET = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")


class CompareError(ValueError):
    """A ``--compare`` spec that cannot be used (one-line message)."""


@dataclass
class ExternalPolicy:
    """A user's policy under the one policy interface: checks every action against the mask."""

    name: str
    inner: Any

    def reset(self, seed: int | None = None) -> None:
        reset = getattr(self.inner, "reset", None)
        if callable(reset):
            try:
                reset(seed)
            except Exception as exc:  # noqa: BLE001 - any failure inside is the user's policy's
                raise CompareError(f"policy {self.name!r}: reset() failed: {type(exc).__name__}: {exc}") from None

    def act(self, observations: np.ndarray, action_masks: np.ndarray) -> np.ndarray:
        try:
            actions = np.asarray(self.inner.act(observations, action_masks))
        except Exception as exc:  # noqa: BLE001 - any failure inside is the user's policy's
            raise CompareError(f"policy {self.name!r}: act() failed: {type(exc).__name__}: {exc}") from None
        if actions.shape != (observations.shape[0],) or not np.issubdtype(actions.dtype, np.integer):
            raise CompareError(f"policy {self.name!r}: act() must return int[{observations.shape[0]}], got {actions.dtype}{list(actions.shape)}")
        actions = actions.astype(np.int64)
        n_actions = action_masks.shape[1]
        outside = ((actions < 0) | (actions >= n_actions)).nonzero()[0]
        if outside.size:
            row = int(outside[0])
            raise CompareError(f"policy {self.name!r}: act() returned action {int(actions[row])} for row {row}; "
                               f"actions are 0..{n_actions - 1}")
        masked = (~action_masks[np.arange(actions.size), actions].astype(bool)).nonzero()[0]
        if masked.size:
            row = int(masked[0])
            raise CompareError(f"policy {self.name!r}: act() chose {ACTIONS[int(actions[row])]} for row {row}, which its "
                               f"mask forbids ({masked.size} masked choice(s) in this call); a policy must keep to the mask")
        return actions


def parse_compare(spec: str) -> tuple[str, str]:
    """``NAME=package.module:factory`` -> (NAME, target); CompareError on a malformed spec."""
    name, sep, target = spec.partition("=")
    if not sep or not _NAME.match(name) or not _TARGET.match(target):
        raise CompareError(f"--compare {spec!r}: expected NAME=package.module:factory (NAME: letters, digits, _ . -)")
    return name, target


def load_compare(spec: str) -> ExternalPolicy:
    """Import the factory named by ``spec``, call it, check the result has ``act``."""
    name, target = parse_compare(spec)
    module_name, attr = target.split(":")
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # noqa: BLE001 - any import failure is the user's module's
        raise CompareError(f"--compare {name}: cannot import {module_name!r}: {type(exc).__name__}: {exc}") from None
    factory = getattr(module, attr, None)
    if not callable(factory):
        raise CompareError(f"--compare {name}: {module_name!r} has no callable {attr!r}")
    try:
        policy = factory()
    except Exception as exc:  # noqa: BLE001
        raise CompareError(f"--compare {name}: {target}() failed: {type(exc).__name__}: {exc}") from None
    if not callable(getattr(policy, "act", None)):
        raise CompareError(f"--compare {name}: {target}() returned {type(policy).__name__}, which has no act(observations, masks)")
    return ExternalPolicy(name, policy)

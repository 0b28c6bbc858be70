"""The searched rule: one linear score per action over the observation features, masked argmax.

``interbank.evaluate.search`` finds its weights by black-box search (CMA-ES); this module is the
rule itself, its readable description, and its file ``searched_rule.json`` (plain JSON, never
pickled): ``save_searched_rule`` writes it, ``load_searched_rule`` reads and checks it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from interbank.envs.observation import BASE_FEATURES, FEATURE_INDEX
from interbank.sim.actions import ACTIONS, HOLD, N_ACTIONS

# the bank's own features, markets and system: everything but the priority one-hot
SEARCH_FEATURES: tuple[str, ...] = tuple(name for name, _ in BASE_FEATURES)
FORMAT = "interbank.searched_rule/1"


class SearchedRuleError(ValueError):
    """A searched rule file or weight matrix that cannot be used (one-line message)."""


class SearchedRulePolicy:
    """A linear score per action, the action mask applied, the highest score wins.

    Fields: ``weights`` float64[N_ACTIONS, len(features) + 1], row ``a`` the score of action
    ``a`` (``ACTIONS`` order), the last column its bias: ``score_a = weights[a, :-1] @ x +
    weights[a, -1]`` with ``x`` the raw observation features named by ``features`` (their units
    are the env card's). ``features``: names from ``interbank.envs.observation.FEATURE_NAMES``
    (default ``SEARCH_FEATURES``, the base features). ``scale``: each feature's typical size (its
    standard deviation on reference episodes; 1 where unknown), used only to rank features by
    ``|weight| x scale`` when the rule is printed. Masked actions never win; ties go to the
    later action, so the all-zero rule is HOLD (the last action). Deterministic: ``reset`` does
    nothing."""

    name = "searched"

    def __init__(self, weights: np.ndarray | Sequence[Sequence[float]], features: Sequence[str] = SEARCH_FEATURES,
                 scale: np.ndarray | Sequence[float] | None = None) -> None:
        self.features = tuple(features)
        unknown = [f for f in self.features if f not in FEATURE_INDEX]
        if unknown:
            raise SearchedRuleError(f"unknown feature {unknown[0]!r}; features are interbank.envs.observation.FEATURE_NAMES")
        w = np.asarray(weights, dtype=np.float64)
        if w.shape != (N_ACTIONS, len(self.features) + 1):
            raise SearchedRuleError(f"weights must be {N_ACTIONS} x {len(self.features) + 1} (actions x features + bias), got "
                                    f"{' x '.join(map(str, w.shape))}")
        if not np.isfinite(w).all():
            raise SearchedRuleError("weights must be finite numbers")
        self.weights = w
        self.scale = np.ones(len(self.features)) if scale is None else np.asarray(scale, dtype=np.float64)
        if self.scale.shape != (len(self.features),) or not (np.isfinite(self.scale).all() and (self.scale > 0).all()):
            raise SearchedRuleError(f"scale must be {len(self.features)} positive finite numbers, one per feature")
        self._columns = np.array([FEATURE_INDEX[f] for f in self.features], dtype=np.int64)

    def reset(self, seed: int | None = None) -> None:
        pass

    def scores(self, observations: np.ndarray) -> np.ndarray:
        """float64[B, N_ACTIONS]: every action's score before the mask."""
        x = np.asarray(observations, dtype=np.float64)[:, self._columns]
        return x @ self.weights[:, :-1].T + self.weights[:, -1]

    def act(self, observations: np.ndarray, action_masks: np.ndarray) -> np.ndarray:
        s = np.where(np.asarray(action_masks, dtype=bool), self.scores(observations), -np.inf)
        # argmax of the reversed row: ties go to the later action (HOLD, the last, when all scores are 0)
        return (N_ACTIONS - 1 - np.argmax(s[:, ::-1], axis=1)).astype(np.int64)

    def importance(self) -> np.ndarray:
        """float64[N_ACTIONS, n_features]: ``|weight| x scale``, how far a typical move of each
        feature shifts each action's score."""
        return np.abs(self.weights[:, :-1]) * self.scale

    def top_features(self, action: int, k: int = 3) -> list[tuple[str, float, float]]:
        """The ``k`` features that matter most to ``action``'s score: (name, weight, |weight| x scale),
        largest first (features with zero weight left out)."""
        imp = self.importance()[action]
        order = sorted(range(len(self.features)), key=lambda j: (-imp[j], j))
        return [(self.features[j], float(self.weights[action, j]), float(imp[j])) for j in order[:k] if imp[j] > 0]


def describe_rule(policy: SearchedRulePolicy, k: int = 3) -> list[str]:
    """The rule in a few lines: per action, its bias and the ``k`` features that matter most
    (weight, and in brackets |weight| x the feature's typical scale)."""
    lines = [f"each bank takes the allowed action with the highest score = bias + sum of weight x feature "
             f"(top {k} features by |weight| x typical scale, in brackets)"]
    width = max(len(a) for a in ACTIONS)
    for a, action in enumerate(ACTIONS):
        top = policy.top_features(a, k)
        if not top and policy.weights[a, -1] == 0:
            lines.append(f"  {action:<{width}}  0" + ("  (the reference action)" if a == HOLD else ""))
            continue
        terms = "  ".join(f"{w:+.3g} x {name} [{imp:.2f}]" for name, w, imp in top)
        lines.append(f"  {action:<{width}}  {policy.weights[a, -1]:+.3g}  {terms}".rstrip())
    return lines


def rule_to_json(policy: SearchedRulePolicy) -> dict[str, Any]:
    """The rule's part of ``searched_rule.json``: features, per-action named weights, scales."""
    return {
        "format": FORMAT,
        "actions": list(ACTIONS),
        "features": list(policy.features),
        "weights": {action: {**{f: float(w) for f, w in zip(policy.features, policy.weights[a, :-1])},
                             "bias": float(policy.weights[a, -1])} for a, action in enumerate(ACTIONS)},
        "scale": {f: float(s) for f, s in zip(policy.features, policy.scale)},
    }


def save_searched_rule(path: Path, policy: SearchedRulePolicy, extra: Mapping[str, Any] | None = None) -> None:
    """Write ``path`` (JSON): the rule and, beside it, ``extra`` (the search's history, scores)."""
    from interbank.files import write_atomic

    data = {**rule_to_json(policy), **(extra or {})}
    write_atomic(path, json.dumps(data, indent=2, allow_nan=False) + "\n")


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise SearchedRuleError(f"{where} must be a finite number, got {value!r}")
    return float(value)


def rule_from_json(data: Any, where: str = "searched rule") -> SearchedRulePolicy:
    """The policy described by a ``rule_to_json`` object; a malformed one raises ``SearchedRuleError``."""
    if not isinstance(data, dict):
        raise SearchedRuleError(f"{where}: expected a JSON object")
    if data.get("format") != FORMAT:
        raise SearchedRuleError(f"{where}: format must be {FORMAT!r}, got {data.get('format')!r}")
    if data.get("actions") != list(ACTIONS):
        raise SearchedRuleError(f"{where}: actions must be {list(ACTIONS)}")
    features = data.get("features")
    if not isinstance(features, list) or not features or not all(isinstance(f, str) for f in features):
        raise SearchedRuleError(f"{where}: features must be a non-empty list of feature names")
    weights, scale = data.get("weights"), data.get("scale")
    if not isinstance(weights, dict) or set(weights) != set(ACTIONS):
        raise SearchedRuleError(f"{where}: weights must have one entry per action {list(ACTIONS)}")
    rows = []
    for action in ACTIONS:
        row = weights[action]
        if not isinstance(row, dict) or set(row) != {*features, "bias"}:
            raise SearchedRuleError(f"{where}: weights.{action} must name every feature and 'bias'")
        rows.append([_number(row[f], f"{where}: weights.{action}.{f}") for f in [*features, "bias"]])
    if not isinstance(scale, dict) or set(scale) != set(features):
        raise SearchedRuleError(f"{where}: scale must name every feature")
    try:
        return SearchedRulePolicy(rows, features, [_number(scale[f], f"{where}: scale.{f}") for f in features])
    except SearchedRuleError as err:
        raise SearchedRuleError(f"{where}: {err}") from None


def load_searched_rule(path: str | Path) -> SearchedRulePolicy:
    """Read a ``searched_rule.json`` (JSON only, nothing executed); a missing, unreadable or
    malformed file raises ``SearchedRuleError`` with a one-line message naming it."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except OSError as err:
        raise SearchedRuleError(f"{path}: cannot read it ({err.strerror or err})") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise SearchedRuleError(f"{path}: not valid JSON ({str(err).splitlines()[0]})") from None
    return rule_from_json(data, str(path))

"""Tune each reference rule's few parameters on training seeds (a small grid, ``RULE_GRIDS``).

The tuned rule is then scored on the evaluation seeds like every other policy, so the
comparison with a trained policy is against the best simple rule, not a default one.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from interbank.config import EnvConfig
from interbank.envs import parallel_env
from interbank.evaluate.episode import evaluate_episode
from interbank.policies import RULE_GRIDS, make_policy


@dataclass
class TunedRule:
    """The best grid point of one rule family on the tuning seeds.

    ``family``: the rule's name in ``BASELINES``; ``params``: the chosen parameters;
    ``scores``: mean return on the tuning seeds for every grid point (label -> value)."""

    family: str
    params: dict[str, float]
    scores: dict[str, float]

    def policy(self, seed: int | None = None):
        return make_policy(self.family, seed, **self.params)


def grid_points(family: str) -> list[dict[str, float]]:
    grid = RULE_GRIDS[family]
    keys = list(grid)
    return [dict(zip(keys, values)) for values in itertools.product(*(grid[k] for k in keys))]


def tune_rules(env_cfg: EnvConfig, families: tuple[str, ...], seeds: list[int],
               progress: Callable[[str, int], None] | None = None) -> dict[str, TunedRule]:
    """For each family, the grid point with the highest mean return over ``seeds``."""
    tuned: dict[str, TunedRule] = {}
    for family in families:
        scores: dict[str, float] = {}
        best: tuple[float, dict[str, float]] | None = None
        for params in grid_points(family):
            policy = make_policy(family, None, **params)
            returns = [evaluate_episode(parallel_env(env_cfg), policy, s).mean_return for s in seeds]
            score = float(np.mean(returns))
            scores[policy.name] = score
            if best is None or score > best[0]:
                best = (score, params)
            if progress:
                progress(f"tuning {family}", len(scores))
        assert best is not None
        tuned[family] = TunedRule(family, best[1], scores)
    return tuned


def tuning_report(tuned: dict[str, TunedRule], seeds: list[int]) -> dict[str, Any]:
    return {
        "seeds": seeds,
        "rules": {f: {"grid": {k: list(v) for k, v in RULE_GRIDS[f].items()}, "best": t.params, "scores": t.scores}
                  for f, t in tuned.items()},
    }

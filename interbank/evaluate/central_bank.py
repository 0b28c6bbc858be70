"""Score and tune rule central banks (``interbank.envs.central_bank_rules``) on seeded episodes.

A central bank's score over an episode is its summed reward: the welfare change over the
episode minus ``central_bank.loss_weight`` x its losses (``central_bank_cost``) over initial equity. The banks
play a given bank policy (a rule, or a trained shared policy) that stays fixed while the
central bank's rule is tuned over its grid (``CENTRAL_BANK_RULE_GRIDS``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from interbank.config import EnvConfig, resolve_env_config
from interbank.envs import parallel_env
from interbank.envs.central_bank_rules import rule_grid
from interbank.evaluate.episode import EpisodeResult, evaluate_episode
from interbank.policies.base import Policy


def with_rule(env_cfg: EnvConfig, rule: str, params: dict[str, float] | None = None) -> EnvConfig:
    """``env_cfg`` with the central bank agent on, driven by the rule ``rule`` with ``params``."""
    return resolve_env_config(env_cfg, **{"central_bank.agent": True, "central_bank.rule": rule,
                                          "central_bank.rule_params": dict(params or {})})


def central_bank_score(result: EpisodeResult, loss_weight: float) -> float:
    """The central bank's summed reward over an episode (welfare is 1 at reset)."""
    return result.welfare - 1.0 - loss_weight * result.central_bank_cost


@dataclass
class TunedCentralBank:
    """The best grid point of one rule central bank: ``rule``; ``params``; ``scores`` (mean
    central bank score on the tuning seeds for every grid point, label -> value)."""

    rule: str
    params: dict[str, float]
    scores: dict[str, float]


def _label(rule: str, params: dict[str, float]) -> str:
    return rule + "".join(f" {k}={v:g}" for k, v in params.items())


def tune_central_bank(env_cfg: EnvConfig, rule: str, bank_policy: Policy, seeds: list[int],
                      grid: list[dict[str, float]] | None = None,
                      progress: Callable[[str, int], None] | None = None) -> TunedCentralBank:
    """The grid point of ``rule`` (its tuning grid unless ``grid``) with the best mean central
    bank score over ``seeds``, the banks playing ``bank_policy``."""
    weight = env_cfg.central_bank.loss_weight
    scores: dict[str, float] = {}
    best: tuple[float, dict[str, float]] | None = None
    for params in grid if grid is not None else rule_grid(rule):
        cfg = with_rule(env_cfg, rule, params)
        score = float(np.mean([central_bank_score(evaluate_episode(parallel_env(cfg), bank_policy, s), weight)
                               for s in seeds]))
        scores[_label(rule, params)] = score
        if best is None or score > best[0]:
            best = (score, params)
        if progress:
            progress(f"tuning central bank {rule}", len(scores))
    assert best is not None, "an empty grid"
    return TunedCentralBank(rule, dict(best[1]), scores)

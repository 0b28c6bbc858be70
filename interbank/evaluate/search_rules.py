"""``interbank search-rules``: search a rule on tuning seeds, score it on evaluation seeds beside
``hold`` and the tuned ``lend_surplus``, and write ``searched_rule.json``.

Tuning seeds are ``tune_seed ... tune_seed + episodes - 1`` (the search and the tuning of
``lend_surplus`` both use them); evaluation seeds ``eval_seed ... eval_seed + eval_episodes - 1``
must not overlap them. Every policy meets the same evaluation episodes, so the differences are
paired: ``vs`` gives the searched rule's mean gain over each reference with its standard error.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from interbank.config import EnvConfig
from interbank.evaluate.search import SearchBudget, episode_returns, search_rule
from interbank.evaluate.tuning import tune_rules
from interbank.policies import HoldPolicy
from interbank.policies.searched import SearchedRulePolicy, describe_rule, save_searched_rule

RULE_FILE = "searched_rule.json"


class SearchRulesError(ValueError):
    """Settings that cannot give an honest result (one-line message)."""


def check_seeds(tuning: Sequence[int], evaluation: Sequence[int]) -> None:
    overlap = sorted(set(tuning) & set(evaluation))
    if overlap:
        raise SearchRulesError(f"evaluation seeds overlap the tuning seeds (seed {overlap[0]}); "
                               "move --eval-seed or --tune-seed apart")


def _summary(returns: np.ndarray) -> dict[str, float]:
    n = returns.size
    return {"mean_return": float(returns.mean()), "std_return": float(returns.std()),
            "stderr": float(returns.std(ddof=1) / np.sqrt(n)) if n > 1 else 0.0}


def search_rules(env_cfg: EnvConfig, source: str, out: Path, budget: SearchBudget, tune_seed: int = 0,
                 eval_episodes: int = 20, eval_seed: int = 1000, backend: str = "local", workers: int = 1,
                 address: str | None = None, progress: Callable[[str, int], None] | None = None
                 ) -> tuple[SearchedRulePolicy, dict[str, Any]]:
    """Search, tune ``lend_surplus``, score all three on the evaluation seeds, write
    ``out/searched_rule.json``; returns the rule and the report written beside it."""
    tuning_seeds = list(range(tune_seed, tune_seed + budget.episodes))
    eval_seeds = list(range(eval_seed, eval_seed + eval_episodes))
    check_seeds(tuning_seeds, eval_seeds)
    result = search_rule(env_cfg, tuning_seeds, budget, backend, workers, address, progress)
    lend = tune_rules(env_cfg, ("lend_surplus",), tuning_seeds, progress)["lend_surplus"].policy()
    done = [0]

    def record(_: int, __: Any) -> None:
        done[0] += 1
        if progress:
            progress("evaluation", done[0])

    policies = {"searched": result.policy, "hold": HoldPolicy(), lend.name: lend}
    returns = episode_returns(env_cfg, list(policies.values()), eval_seeds, backend, workers, address, record)
    scores = {name: _summary(r) for name, r in zip(policies, returns)}
    vs = {}
    for name, r in list(zip(policies, returns))[1:]:
        diff = returns[0] - r
        vs[name] = {"gain": float(diff.mean()),
                    "stderr": float(diff.std(ddof=1) / np.sqrt(diff.size)) if diff.size > 1 else 0.0}
    data = {
        "search": result.report(tuning_seeds),
        "evaluation": {"seeds": eval_seeds, "scores": scores, "vs": vs},
        "env": {"source": source, "n_banks": env_cfg.n_banks, "max_steps": env_cfg.max_steps,
                "config_digest": env_cfg.digest()},
        "description": describe_rule(result.policy),
    }
    out.mkdir(parents=True, exist_ok=True)
    save_searched_rule(out / RULE_FILE, result.policy, data)
    return result.policy, data

"""Tuning a rule central bank over its grid, the banks' policy fixed."""

import pytest

from interbank.config import resolve_env_config
from interbank.envs import parallel_env
from interbank.evaluate.central_bank import central_bank_score, tune_central_bank, with_rule
from interbank.evaluate.episode import evaluate_episode
from interbank.policies import make_policy
from interbank.policies.base import batch_actions


def test_tuning_picks_the_grid_point_with_the_best_central_bank_score():
    cfg = resolve_env_config("configs/stress.yaml", n_banks=10, max_steps=30)
    tuned = tune_central_bank(cfg, "bagehot", make_policy("heuristic"), seeds=[0, 1],
                              grid=[{"stress": 0.6}, {"stress": 0.95}])
    assert set(tuned.scores) == {"bagehot stress=0.6", "bagehot stress=0.95"}
    best = max(tuned.scores, key=tuned.scores.get)
    assert tuned.params == {"stress": float(best.split("=")[1])}


def test_the_score_is_the_central_banks_summed_reward():
    cfg = with_rule(resolve_env_config("configs/stress.yaml", n_banks=10, max_steps=25), "bagehot")
    env = parallel_env(cfg)
    total = 0.0
    env.reset(seed=3)
    policy = make_policy("heuristic")
    policy.reset(3)
    while env.agents:
        total += env.step_batch(batch_actions(policy, env)).central_bank.reward
    result = evaluate_episode(parallel_env(cfg), make_policy("heuristic"), 3)
    assert central_bank_score(result, cfg.central_bank.loss_weight) == pytest.approx(total, abs=1e-9)

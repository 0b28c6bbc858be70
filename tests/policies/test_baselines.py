import numpy as np
import pytest

from interbank.envs import FEATURE_NAMES, N_FEATURES, parallel_env
from interbank.envs.observation import FEATURE_INDEX
from interbank.policies import Policy, make_policy
from interbank.evaluate.episode import evaluate_episode
from interbank.sim.actions import BORROW, DIVEST, HOLD, INVEST, LEND


@pytest.mark.parametrize("name", ["random", "hold", "heuristic"])
def test_baselines_only_choose_allowed_actions(name):
    policy = make_policy(name, 0)
    assert isinstance(policy, Policy)
    rng = np.random.default_rng(0)
    obs = rng.random((500, len(FEATURE_NAMES))).astype(np.float32)
    masks = (rng.random((500, 5)) < 0.5).astype(np.int8)
    masks[:, HOLD] = 1
    acts = policy.act(obs, masks)
    assert acts.shape == (500,) and acts.dtype == np.int64
    assert masks[np.arange(500), acts].all()


def test_random_policy_is_seeded_and_uses_every_allowed_action():
    obs, masks = np.zeros((2000, len(FEATURE_NAMES)), np.float32), np.ones((2000, 5), np.int8)
    a = make_policy("random", 1).act(obs, masks)
    assert (a == make_policy("random", 1).act(obs, masks)).all()
    assert set(np.unique(a)) == {0, 1, 2, 3, 4}


def _row(**features):
    row = np.zeros(len(FEATURE_NAMES), np.float32)
    for k, v in features.items():
        row[FEATURE_INDEX[k]] = v
    return row


def test_heuristic_rules_in_order():
    p = make_policy("heuristic")
    obs = np.stack([
        _row(cash_ratio=0.05),                                 # short of cash -> call loans
        _row(cash_ratio=0.5, market_momentum=-0.1, market_momentum_spread=0.2),  # a market falling -> divest
        _row(cash_ratio=0.5, risk=0.9, market_momentum=0.02),  # risky, rising market -> invest
        _row(cash_ratio=0.5, risk=0.1),                        # cautious with cash -> lend
        _row(cash_ratio=0.15),                                 # nothing applies -> hold
    ])
    masks = np.ones((5, 5), np.int8)
    assert p.act(obs, masks).tolist() == [BORROW, DIVEST, INVEST, LEND, HOLD]
    masks[0, BORROW] = 0  # a masked rule falls through
    assert p.act(obs, masks)[0] == DIVEST


def test_unknown_policy_name():
    with pytest.raises(ValueError, match="choose one of random, hold, heuristic, hoard, lend_surplus"):
        make_policy("oracle")


def test_rollout_is_reproducible():
    a = evaluate_episode(parallel_env(n_banks=10), make_policy("random", 0), seed=4)
    b = evaluate_episode(parallel_env(n_banks=10), make_policy("random", 0), seed=4)
    assert a == b and a.steps == 100 and len(a.capital_path) == 101


def test_hoard_divests_then_calls_then_holds():
    p = make_policy("hoard")
    obs = np.zeros((3, N_FEATURES), np.float32)
    masks = np.array([[1, 1, 1, 1, 1], [1, 1, 1, 0, 1], [1, 0, 1, 0, 1]], np.int8)
    assert p.act(obs, masks).tolist() == [DIVEST, BORROW, HOLD]


def test_lend_surplus_lends_above_c_times_the_requirement_and_calls_below():
    p = make_policy("lend_surplus")  # c = 4
    # cash 0.10 of assets; requirement = cash - reserve_buffer
    obs = np.stack([_row(cash_ratio=0.10, reserve_buffer=0.09), _row(cash_ratio=0.10, reserve_buffer=0.02),
                    _row(cash_ratio=0.10, reserve_buffer=0.09)])
    masks = np.ones((3, 5), np.int8)
    masks[2, 0] = 0
    # requirements 0.01 (cover 10 > 4: lend), 0.08 (cover 1.25 < 4: call); LEND masked: hold
    assert p.act(obs, masks).tolist() == [LEND, BORROW, HOLD]

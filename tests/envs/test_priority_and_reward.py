import numpy as np

from interbank.envs import parallel_env
from interbank.envs.observation import FEATURE_INDEX, N_BASE
from interbank.envs.priority import FixedPriority, RuleBasedPriority
from interbank.envs.rewards import reward_components, weighted_reward
from interbank.sim.actions import LIQUIDITY, PROFIT, STABILITY


def _features(**values):
    f = np.zeros((1, N_BASE))
    f[0, FEATURE_INDEX["cash_ratio"]] = 0.5
    for k, v in values.items():
        f[0, FEATURE_INDEX[k]] = v
    return f


def test_rule_based_priority():
    model = RuleBasedPriority(liquidity_threshold=0.08, leverage_tolerance=1.25, stress_threshold=0.2)
    assert model(_features(cash_ratio=0.05))[0] == LIQUIDITY
    assert model(_features(shortfall_ratio=0.01))[0] == LIQUIDITY
    assert model(_features(leverage_gap=0.5))[0] == STABILITY
    assert model(_features(neighbour_defaults=0.5))[0] == STABILITY
    assert model(_features())[0] == PROFIT


def test_priority_is_in_the_observation_and_on_transactions():
    env = parallel_env(n_banks=6, record_events=True, priority_model=FixedPriority("STABILITY"))
    obs, infos = env.reset(seed=0)
    assert all(o["observation"][N_BASE + STABILITY] == 1 and o["observation"][N_BASE:].sum() == 1 for o in obs.values())
    assert all(i["priority"] == "STABILITY" for i in infos.values())
    env.step({a: 0 for a in env.agents})
    tx = [e["data"] for e in env.drain_events() if e["type"] == "transaction"]
    assert tx and all(t["priority"] == "STABILITY" for t in tx)


def test_reward_weights_follow_the_priority():
    comps = np.array([[1.0, -2.0, -0.5]] * 3)
    r = weighted_reward(comps, np.array([PROFIT, LIQUIDITY, STABILITY]), focus=0.6)
    np.testing.assert_allclose(r, [0.6 - 0.4 - 0.1, 0.2 - 1.2 - 0.1, 0.2 - 0.4 - 0.3])


def test_reward_components_signs():
    f = _features(cash_ratio=0.02, leverage_gap=0.4, neighbour_defaults=0.5)
    comps = reward_components(np.array([100.0]), np.array([110.0]), np.array([50.0]), f, np.array([5.0]), 0.1)
    assert comps[0, 0] == 10 / 50
    assert comps[0, 1] == 2 * (0.02 - 0.1) - 5 / 50
    assert comps[0, 2] == -0.1 * 0.4 - 0.5 * 0.5

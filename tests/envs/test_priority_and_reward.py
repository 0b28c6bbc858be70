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
    model = RuleBasedPriority(lcr_buffer=1.2, capital_buffer=1.25, stress_threshold=0.1)
    calm = {"liquidity_buffer": 1.0, "capital_buffer": 1.0, "reserve_buffer": 0.05}
    assert model(_features(**{**calm, "liquidity_buffer": 0.1}))[0] == LIQUIDITY
    assert model(_features(**{**calm, "reserve_buffer": -0.01}))[0] == LIQUIDITY
    assert model(_features(**{**calm, "unmet_funding": 0.01}))[0] == LIQUIDITY
    assert model(_features(**{**calm, "shortfall_ratio": 0.01}))[0] == LIQUIDITY
    assert model(_features(**{**calm, "capital_buffer": 0.2}))[0] == STABILITY
    assert model(_features(**{**calm, "counterparty_losses": 0.2}))[0] == STABILITY
    assert model(_features(**calm))[0] == PROFIT


def test_priority_is_in_the_observation_and_on_transactions():
    env = parallel_env(n_banks=6, record_events=True, priority_model=FixedPriority("STABILITY"))
    obs, infos = env.reset(seed=0)
    assert all(o["observation"][N_BASE + STABILITY] == 1 and o["observation"][N_BASE:].sum() == 1 for o in obs.values())
    assert all(i["priority"] == STABILITY for i in infos.values())
    env.step({a: 0 for a in env.agents})
    tx = [e["data"] for e in env.drain_events() if e["type"] == "transaction"]
    assert tx and all(t["priority"] == "STABILITY" for t in tx)


def test_reward_adds_the_buffer_the_priority_asks_for():
    comps = np.array([[0.01, 0.5, 0.25]] * 3)
    r = weighted_reward(comps, np.array([PROFIT, LIQUIDITY, STABILITY]), buffer_weight=0.002)
    np.testing.assert_allclose(r, [0.01, 0.01 + 0.002 * 0.5, 0.01 + 0.002 * 0.25])


def test_reward_components_are_equity_growth_and_clipped_buffers():
    f = _features(liquidity_buffer=-0.4, capital_buffer=3.0)
    comps = reward_components(np.array([100.0]), np.array([110.0]), np.array([50.0]), f, np.array([False]), 0.5)
    np.testing.assert_allclose(comps[0], [10 / 50, 0.0, 1.0])  # a buffer below the minimum earns nothing


def test_default_costs_the_remaining_equity_plus_the_penalty():
    f = _features(liquidity_buffer=-1.0, capital_buffer=-1.0)
    comps = reward_components(np.array([30.0, -5.0]), np.array([-20.0, -40.0]), np.array([50.0, 50.0]), np.repeat(f, 2, 0),
                              np.array([True, True]), 0.5)
    # limited liability: a bank with 30 left loses 30; one already below zero loses nothing more than the penalty
    np.testing.assert_allclose(comps[:, 0], [-30 / 50 - 0.5, -0.5])
    np.testing.assert_allclose(comps[:, 1:], 0.0)

import pickle
import warnings

import numpy as np
import pettingzoo
import pytest
from pettingzoo.test import api_test, max_cycles_test, parallel_api_test, render_test, state_test

import interbank.envs as envs
from interbank.envs import ENV_ID, FEATURE_NAMES, N_FEATURES, env, parallel_env


def test_parallel_api_test_1000_cycles():
    parallel_api_test(parallel_env(n_banks=12, seed=0), num_cycles=1000)


def test_parallel_api_test_on_the_stress_scenario_where_banks_die():
    e = parallel_env("configs/stress.yaml", n_banks=15)
    parallel_api_test(e, num_cycles=1000)


def test_aec_api_test():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        api_test(env(n_banks=8, seed=1), num_cycles=300)


def test_max_cycles_test():
    max_cycles_test(envs)


def test_render_test():
    render_test(lambda render_mode=None: env(n_banks=6, render_mode=render_mode))


def test_state_test():
    state_test(env(n_banks=6), parallel_env(n_banks=6))


@pytest.mark.skipif(not envs.REGISTERED, reason="this PettingZoo has no env registry")
def test_registry_makes_both_versions():
    p = pettingzoo.make("parallel", ENV_ID, n_banks=5)
    assert isinstance(p, envs.InterbankEnv) and len(p.possible_agents) == 5
    a = pettingzoo.make("aec", ENV_ID, n_banks=4)
    a.reset(seed=0)
    assert a.agent_selection == "bank_0"


def test_observation_size_does_not_depend_on_the_number_of_banks():
    for n in (3, 50):
        e = parallel_env(n_banks=n)
        obs, _ = e.reset(seed=0)
        assert all(o["observation"].shape == (N_FEATURES,) and o["observation"].dtype == np.float32 for o in obs.values())
        assert all(o["action_mask"].shape == (5,) for o in obs.values())
    assert len(FEATURE_NAMES) == N_FEATURES
    # the env card's table is generated from the same feature list
    for name in FEATURE_NAMES:
        assert name in envs.InterbankEnv.__doc__


def test_agents_are_named_in_order_and_render_modes_work():
    e = parallel_env(n_banks=4, render_mode="ansi")
    e.reset(seed=0)
    assert e.possible_agents == ["bank_0", "bank_1", "bank_2", "bank_3"]
    text = e.render()
    assert "step 0/100" in text and "bank_0" in text
    with pytest.raises(ValueError, match="render_mode"):
        parallel_env(render_mode="rgb")


def _rollout(e, seed, steps):
    rng = np.random.default_rng(seed)
    obs, infos = e.reset(seed=seed)
    out = [(obs, infos)]
    for _ in range(steps):
        if not e.agents:
            obs, infos = e.reset()
            out.append((obs, infos))
            continue
        actions = {a: int(rng.integers(0, 5)) for a in e.agents}  # masked actions too
        out.append(e.step(actions))
    return out


def _equal(a, b):
    if isinstance(a, dict):
        assert a.keys() == b.keys()
        for k in a:
            _equal(a[k], b[k])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            _equal(x, y)
    elif isinstance(a, np.ndarray):
        np.testing.assert_array_equal(a, b)
    else:
        assert a == b


def test_same_seed_same_actions_500_steps_every_dict_equal():
    cfg = "configs/stress.yaml"
    a = parallel_env(cfg, n_banks=10, max_cycles=60, record_events=True)
    b = parallel_env(cfg, n_banks=10, max_cycles=60, record_events=True)
    _equal(_rollout(a, 5, 500), _rollout(b, 5, 500))
    assert a.drain_events() == b.drain_events()


def test_other_seed_gives_another_episode():
    a = _rollout(parallel_env(n_banks=10), 1, 20)
    b = _rollout(parallel_env(n_banks=10), 2, 20)
    with pytest.raises(AssertionError):
        _equal(a, b)


def test_pickle_round_trip_mid_episode_continues_identically():
    e = parallel_env(n_banks=10, record_events=True)
    _rollout(e, 3, 10)
    clone = pickle.loads(pickle.dumps(e))
    rng = np.random.default_rng(0)
    for _ in range(30):
        if not e.agents:
            break
        actions = {a: int(rng.integers(0, 5)) for a in e.agents}
        _equal(e.step(actions), clone.step(actions))
    assert e.drain_events() == clone.drain_events()


def test_masked_action_is_executed_as_hold_and_reported():
    e = parallel_env(n_banks=6, seed=0, **{"balance_sheet.market_share": 0.0})
    e.reset(seed=0)
    mask = e.action_mask_array()
    assert not mask[:, 3].any()  # nothing to divest
    _, _, _, _, infos = e.step({"bank_2": 3})
    i = 2
    assert infos[f"bank_{i}"]["invalid_action"] == 1
    assert infos[f"bank_{i}"]["action"] == 4  # HOLD
    _, _, _, _, infos = e.step({"bank_0": 99, "bank_1": "nonsense"})
    assert infos["bank_0"]["invalid_action"] and infos["bank_1"]["invalid_action"]


def test_every_bank_truncates_at_max_cycles():
    e = parallel_env(n_banks=5, max_cycles=7)
    e.reset(seed=0)
    for t in range(7):
        _, _, terms, truncs, _ = e.step({a: 4 for a in e.agents})
    assert all(truncs.values()) and e.agents == []
    assert e.step({}) == ({}, {}, {}, {}, {})

"""The env's client-facing contract (v3): numeric infos, the mask in infos, truncation at the
time limit, the empty step after the end, the flat observation and the registry guard."""

import importlib.util

import numpy as np
import pytest
import torch
from pettingzoo.test import parallel_api_test

from interbank import envs
from interbank.envs import N_FEATURES, parallel_env
from interbank.sim.actions import HOLD, N_ACTIONS

STRESS = "configs/stress.yaml"
# the stress scenario's shocks plus two banks that lose twice their capital (steps 7 and 30): defaults
# happen for sure, whatever the seed's credit and market luck
SHOCKED = {"shocks": {"crash_prob": 0.02, "crash_size": 0.15, "withdrawal_prob": 0.02, "withdrawal_size": 0.15,
                      "scheduled": [{"step": 7, "type": "capital_loss", "bank": 3, "size": 2.0},
                                    {"step": 30, "type": "capital_loss", "bank": 11, "size": 2.0}]}}


def _hold(env):
    return {a: HOLD for a in env.agents}


def _first_default_step(seed: int, max_cycles: int = 100) -> int:
    env = parallel_env(STRESS, n_banks=20, **SHOCKED, max_cycles=max_cycles)
    env.reset(seed=seed)
    while env.agents:
        _, _, terms, _, _ = env.step(_hold(env))
        if any(terms.values()):
            return env.system.t
    raise AssertionError("no default in the episode")


@pytest.mark.parametrize("flat", [False, True], ids=["dict-observation", "flat-observation"])
def test_every_info_value_is_numeric_and_goes_through_torch(flat):
    env = parallel_env(STRESS, n_banks=20, **SHOCKED, max_cycles=60, flat_observation=flat)
    _, infos = env.reset(seed=0)
    seen = [infos]
    rng = np.random.default_rng(0)
    defaults = 0
    while env.agents:
        # HOLD mostly (the stress scenario then defaults), random actions, masked ones too, now and then
        actions = {a: int(rng.integers(0, N_ACTIONS)) if rng.random() < 0.05 else HOLD for a in env.agents}
        _, _, terms, _, infos = env.step(actions)
        defaults += sum(terms.values())
        seen.append(infos)
    assert defaults > 0
    for infos in seen:
        for info in infos.values():
            # the same keys after reset and after every step (clients size their buffers from the first)
            # (the action mask too with a flat observation; with the dict one it is in the observation only)
            assert info.keys() == {"priority", "action", "invalid_action", "defaulted"} | ({"action_mask"} if flat else set())
            for key, value in info.items():
                tensor = torch.as_tensor(value)  # raises on text or None
                if key == "action_mask":
                    assert tensor.shape == (N_ACTIONS,)
                else:
                    assert type(value) is int, (key, value)
    assert all(i["action"] == -1 for i in seen[0].values())
    assert {i["defaulted"] for infos in seen[1:] for i in infos.values()} == {0, 1}
    assert {i["invalid_action"] for infos in seen[1:] for i in infos.values()} == {0, 1}


def test_step_infos_carry_indices_and_flags():
    env = parallel_env(n_banks=6, seed=0, **{"balance_sheet.market_share": 0.0})
    env.reset(seed=0)
    assert not env.action_mask_array()[:, 3].any()  # nothing to divest
    _, _, _, _, infos = env.step({"bank_2": 3, "bank_3": 0})
    assert infos["bank_2"]["action"] == HOLD and infos["bank_2"]["invalid_action"] == 1
    assert infos["bank_3"]["invalid_action"] == 0
    assert all(i["defaulted"] == 0 and i["priority"] in (0, 1, 2) for i in infos.values())


def test_with_a_flat_observation_the_mask_in_infos_is_the_observation_mask():
    env = parallel_env(STRESS, n_banks=20, **SHOCKED, flat_observation=True)
    dict_env = parallel_env(STRESS, n_banks=20, **SHOCKED)
    obs, infos = env.reset(seed=1)
    ref, ref_infos = dict_env.reset(seed=1)
    for _ in range(30):
        for a in env.agents:
            np.testing.assert_array_equal(infos[a]["action_mask"], ref[a]["action_mask"])
            assert infos[a]["action_mask"].dtype == np.int8 and infos[a]["action_mask"][HOLD] == 1
            assert "action_mask" not in ref_infos[a]  # once only: TorchRL fails on a second copy
        obs, _, _, _, infos = env.step(_hold(env))
        ref, _, _, _, ref_infos = dict_env.step(_hold(dict_env))


def test_a_bank_defaulting_on_the_last_step_is_truncated_too():
    t_default = _first_default_step(seed=0)
    env = parallel_env(STRESS, n_banks=20, **SHOCKED, max_cycles=t_default)
    env.reset(seed=0)
    for _ in range(t_default):
        live = list(env.agents)
        _, _, terms, truncs, _ = env.step(_hold(env))
    assert set(truncs) == set(live) and all(truncs.values())  # every bank that acted, survivor or not
    assert any(terms.values()) and not all(terms.values())
    assert env.agents == []


def test_a_default_before_the_last_step_is_not_a_truncation():
    t_default = _first_default_step(seed=0)
    env = parallel_env(STRESS, n_banks=20, **SHOCKED, max_cycles=t_default + 5)
    env.reset(seed=0)
    for _ in range(t_default):
        _, _, terms, truncs, _ = env.step(_hold(env))
    gone = [a for a, t in terms.items() if t]
    assert gone and not any(truncs.values())
    assert not set(gone) & set(env.agents)


def test_step_after_the_end_returns_five_empty_dicts_until_reset():
    env = parallel_env(n_banks=5, max_cycles=3)
    env.reset(seed=0)
    for _ in range(3):
        env.step(_hold(env))
    assert env.agents == []
    assert env.step({}) == ({}, {}, {}, {}, {})
    assert env.step({"bank_0": HOLD}) == ({}, {}, {}, {}, {})
    obs, _ = env.reset(seed=0)
    assert len(obs) == 5 and env.step(_hold(env))[0].keys() == obs.keys()


def test_flat_observation_is_a_box_of_features_then_mask():
    env = parallel_env(STRESS, n_banks=20, **SHOCKED, flat_observation=True)
    space = env.observation_space("bank_0")
    assert space.shape == (N_FEATURES + N_ACTIONS,) and space.dtype == np.float32
    dict_env = parallel_env(STRESS, n_banks=20, **SHOCKED)
    obs, infos = env.reset(seed=2)
    ref, _ = dict_env.reset(seed=2)
    for _ in range(20):
        for a in env.agents:
            assert space.contains(obs[a])
            np.testing.assert_array_equal(obs[a][:N_FEATURES], ref[a]["observation"])
            np.testing.assert_array_equal(obs[a][N_FEATURES:], infos[a]["action_mask"].astype(np.float32))
        obs, _, _, _, infos = env.step(_hold(env))
        ref, *_ = dict_env.step(_hold(dict_env))


def test_flat_observation_passes_the_parallel_api_test():
    parallel_api_test(parallel_env(STRESS, n_banks=15, flat_observation=True), num_cycles=300)


def test_flat_observation_must_be_a_bool():
    with pytest.raises(TypeError, match="flat_observation"):
        parallel_env(flat_observation="yes")


def test_registry_is_used_only_where_pettingzoo_has_one():
    has_registry = importlib.util.find_spec("pettingzoo.env_registry") is not None
    assert envs.REGISTERED == has_registry
    assert envs.InterbankEnv.metadata["name"] == "interbank_v3" and envs.ENV_ID == "interbank/Interbank-v3"


def test_agents_are_the_active_banks_after_every_array_step():
    env = parallel_env(STRESS, n_banks=20, **SHOCKED, max_cycles=40)
    env.reset(seed=2)
    rng = np.random.default_rng(0)
    left = 0
    while env.agents:
        mask = env.action_mask_array()
        batch = env.step_batch(np.argmax(rng.random(mask.shape) * mask, axis=1))
        left += int(batch.terminated.sum())
        active = [env.possible_agents[i] for i in np.flatnonzero(env.system.active)]
        assert env.agents == ([] if env.system.done else active)
    assert left >= 2  # the scheduled losses took banks out on the way


def test_a_deleted_bank_terminates_at_the_next_step_then_leaves_agents():
    # PettingZoo: an agent leaves ``agents`` only after a step that reports it terminated
    env = parallel_env("configs/default.yaml", n_banks=5, max_cycles=20)
    env.reset(seed=0)
    env.step({a: HOLD for a in env.agents})
    env.delete_bank("bank_1")
    assert "bank_1" in env.agents and not env.system.active[1]
    _, rewards, terminations, truncations, infos = env.step({a: HOLD for a in env.agents})
    assert terminations["bank_1"] and not truncations["bank_1"] and rewards["bank_1"] == 0.0
    assert infos["bank_1"]["action"] == -1 and not infos["bank_1"]["defaulted"]
    assert not any(terminations[a] for a in env.agents)
    assert "bank_1" not in env.agents and len(env.agents) == 4
    _, _, terminations, _, _ = env.step({a: HOLD for a in env.agents})
    assert "bank_1" not in terminations  # reported once


def test_deleting_every_bank_ends_the_episode_at_the_next_step_with_its_complete_event():
    env = parallel_env("configs/default.yaml", n_banks=3, max_cycles=20, record_events=True)
    env.reset(seed=0)
    env.drain_events()
    for agent in list(env.agents):
        env.delete_bank(agent)
    _, _, terminations, truncations, _ = env.step({})
    assert all(terminations.values()) and not any(truncations.values()) and len(terminations) == 3
    assert env.agents == [] and env.system.done
    types = [e["type"] if isinstance(e, dict) else e.type for e in env.drain_events()]
    assert types[-1] == "complete" and types.count("bank_deleted") == 3


@pytest.mark.parametrize("action", [2.7, 2.0, "3", True, None, [1, 2], np.float32(1.0)])
def test_an_action_that_is_not_an_integer_of_discrete_5_is_invalid_not_truncated(action):
    env = parallel_env("configs/default.yaml", n_banks=3, max_cycles=5)
    env.reset(seed=0)
    _, _, _, _, infos = env.step({"bank_0": action, "bank_1": np.int64(HOLD), "bank_2": np.array([HOLD])})
    assert infos["bank_0"]["invalid_action"] == 1 and infos["bank_0"]["action"] == HOLD
    assert infos["bank_1"]["invalid_action"] == 0 and infos["bank_2"]["invalid_action"] == 0


def test_a_deleted_bank_s_event_carries_the_sheets_its_settlement_moved():
    """Deleting a bank fire-sells its positions and pays its creditors: ``bank_deleted`` carries every
    other bank whose sheet that moved, as the next step_end would show it, and no bank it left alone."""
    from interbank.config import resolve_env_config as resolve
    from interbank.envs import parallel_env as make

    env = make(resolve("configs/stress.yaml", n_banks=12, max_steps=10))
    env.reset(seed=0)
    system = env.system
    before = {b["id"]: b for b in system.snapshots()}
    data = env.interventions.delete_bank(env.agents[0])
    after = {b["id"]: b for b in system.snapshots()}
    moved = {b["id"] for b in data["snapshots"]}
    assert env.agents[0] not in moved and data["settlement"]["fire_sale_volume"] > 0 and moved
    assert moved == {i for i in after if i != env.agents[0] and after[i] != before[i]}
    assert all(b == after[b["id"]] for b in data["snapshots"])

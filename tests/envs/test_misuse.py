"""What the env does with a caller's mistakes: configs given are never written, numpy numbers are
numbers, conflicting settings and bad seeds are refused in one line, only integers are actions
(for the central bank too), nothing runs before reset or changes the episode after its end, and
nothing a caller writes into reaches the env's own arrays."""

import gc
import os
import weakref

import numpy as np
import pytest

from interbank.config import ConfigError
from interbank.envs import parallel_env
from interbank.envs.central_bank import CENTRAL_BANK
from interbank.sim.actions import HOLD, INVEST, N_ACTIONS
from interbank.sim.central_bank import CB_HOLD, CB_INDEX

ON = {"central_bank.agent": True}
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


# ------------------------------------------------------------------ configs
def test_a_config_dict_given_is_never_written_even_by_a_refused_override():
    base = {"n_banks": 4, "clearing": {"model": "eisenberg_noe"}, "network": {"avg_degree": 2.0}}
    assert parallel_env(base, **{"clearing.model": "fixed_recovery"}).config.clearing.model == "fixed_recovery"
    with pytest.raises(ConfigError, match="avg_degree"):
        parallel_env(base, **{"network.avg_degree": -1.0})
    assert base == {"n_banks": 4, "clearing": {"model": "eisenberg_noe"}, "network": {"avg_degree": 2.0}}
    env = parallel_env({"env": base})
    assert env.config.clearing.model == "eisenberg_noe" and env.config.network.avg_degree == 2.0


def test_numpy_numbers_configure_an_env_as_python_numbers_do():
    a = parallel_env(n_banks=np.int64(5), max_cycles=np.int32(7), seed=np.uint32(3), **{"network.avg_degree": np.float32(2.5)})
    b = parallel_env(n_banks=5, max_cycles=7, seed=3, **{"network.avg_degree": 2.5})
    assert a.config == b.config


def test_settings_that_disagree_are_refused_instead_of_one_winning():
    with pytest.raises(ConfigError, match="max_cycles = 7 and max_steps = 5"):
        parallel_env(max_steps=5, max_cycles=7)
    assert parallel_env(max_steps=5, max_cycles=5).max_cycles == 5
    bank = {"capital": 100.0, "target_leverage": 10.0, "risk": 0.5}
    with pytest.raises(ConfigError, match=r"banks and n_banks disagree: the banks listed \(1\) set the size, n_banks = 3"):
        parallel_env(n_banks=3, banks=[bank])
    assert parallel_env(n_banks=1, banks=[bank]).config.n_banks == 1
    assert parallel_env(parallel_env(banks=[bank]).config, n_banks=4).config.n_banks == 4  # a size override still replaces them


def test_a_scenario_name_configures_an_env_from_any_folder(tmp_path, monkeypatch):
    here = parallel_env(os.path.join(ROOT, "configs", "stress.yaml")).config
    monkeypatch.chdir(tmp_path)
    assert parallel_env("stress").config == here == parallel_env("configs/stress.yaml").config
    (tmp_path / "configs").mkdir()
    (tmp_path / "configs" / "stress.yaml").write_text("env:\n  n_banks: 7\n")  # a user's own folder comes first
    assert parallel_env("configs/stress.yaml").config.n_banks == 7 == parallel_env("stress").config.n_banks


def test_setting_max_cycles_validates_it_and_the_next_episode_plays_it():
    env = parallel_env(n_banks=3, max_cycles=1000, **{"markets.drift": 0.1})
    for bad in (20_000, 0, 2.9, "7", True):
        with pytest.raises(ConfigError):
            env.max_cycles = bad
        assert env.max_cycles == 1000
    env.max_cycles = 4
    env.reset(seed=0)
    steps = 0
    while env.agents:
        env.step({})
        steps += 1
    assert steps == 4 and env.system.run_info["resolved"]["max_steps"] == 4


def test_construction_arguments_are_checked_in_one_line():
    with pytest.raises(TypeError, match="record_events"):
        parallel_env(n_banks=3, record_events="yes")
    with pytest.raises(TypeError, match="priority_model"):
        parallel_env(n_banks=3, priority_model="rule")
    with pytest.raises(ValueError, match="resolved"):
        parallel_env(n_banks=3, run_info={"resolved": {}})
    with pytest.raises(ValueError, match="plain JSON"):
        parallel_env(n_banks=3, run_info={"when": object()})
    assert parallel_env(n_banks=3, record_events=np.bool_(True)).record_events


@pytest.mark.parametrize("answer, message", [
    (lambda base: np.full(len(base), 7), r"in \[7, 7\]"),
    (lambda base: np.full(len(base), -1), r"in \[-1, -1\]"),
    (lambda base: np.zeros(len(base) + 1, np.int64), "shape"),
    (lambda base: np.full(len(base), np.nan), "float64"),
])
def test_a_priority_model_answering_outside_the_priorities_is_named(answer, message):
    env = parallel_env(n_banks=4, priority_model=answer)
    with pytest.raises(ValueError, match=f"priority_model.*{message}"):
        env.reset(seed=0)


# ------------------------------------------------------------------ spaces, seeds, order of calls
def test_an_env_asked_for_its_spaces_is_freed_and_unknown_agents_have_none():
    env = parallel_env(n_banks=4, **ON)
    assert env.observation_space("bank_0") is env.observation_spaces["bank_0"] is env.observation_space("bank_0")
    assert env.action_space(CENTRAL_BANK) is env.action_spaces[CENTRAL_BANK] != env.action_space("bank_0")
    assert set(env.observation_spaces) == set(env.possible_agents) == set(env.action_spaces)
    for unknown in ("bank_99", "nonexistent", 12345, ["bank_0"]):
        with pytest.raises(KeyError, match="unknown agent"):
            env.observation_space(unknown)
        with pytest.raises(KeyError, match="unknown agent"):
            env.action_space(unknown)
    with pytest.raises(KeyError):
        parallel_env(n_banks=4).observation_space(CENTRAL_BANK)  # no central bank agent in this one
    ref = weakref.ref(env)
    del env
    gc.collect()
    assert ref() is None


def test_nothing_runs_before_reset():
    env = parallel_env(n_banks=3, render_mode="ansi")
    for call in (lambda: env.step({"bank_0": HOLD}), lambda: env.step_batch(np.zeros(3, np.int64)), env.state,
                 env.observation_array, env.action_mask_array, env.render, lambda: env.add_capital("bank_0", 1.0),
                 lambda: env.delete_bank("bank_0"), lambda: env.central_bank("set_policy_rate", amount=0.01)):
        with pytest.raises(RuntimeError, match=r"call reset\(\) before"):
            call()
    env.reset(seed=0)
    assert env.render().startswith("step 0/")


@pytest.mark.parametrize("seed", [-1, np.int32(-3), 1.5, 2.0, "3", True, [1, 2], np.array([3])])
def test_a_reset_seed_must_be_a_non_negative_integer(seed):
    env = parallel_env(n_banks=3)
    with pytest.raises(ValueError, match="seed must be a non-negative integer"):
        env.reset(seed=seed)


def test_numpy_seeds_are_seeds_and_options_must_be_a_dict():
    env = parallel_env(n_banks=3)
    a, _ = env.reset(seed=np.int64(5))
    b, _ = env.reset(seed=np.array(5))
    c, _ = env.reset(seed=5, options={"unused": 1})
    assert all(np.array_equal(x["bank_0"]["observation"], a["bank_0"]["observation"]) for x in (b, c))
    with pytest.raises(TypeError, match="options must be a dict"):
        env.reset(seed=5, options="x")


def test_human_render_prints_on_reset_and_on_step(capsys):
    env = parallel_env(n_banks=3, render_mode="human")
    env.reset(seed=0)
    assert capsys.readouterr().out.startswith("step 0/")
    env.step({})
    assert capsys.readouterr().out.startswith("step 1/")


# ------------------------------------------------------------------ actions
@pytest.mark.parametrize("action", [1.9, 1.0, "1", b"1", True, None, [1, 2], object()])
def test_only_integers_are_actions_of_the_central_bank_as_of_the_banks(action):
    env = parallel_env(n_banks=4, **ON)
    env.reset(seed=0)
    assert env.central_bank_agent.mask[CB_INDEX["rate_up"]]
    info = env.step({CENTRAL_BANK: action, "bank_1": action})[4]
    assert info[CENTRAL_BANK] | {"due": 1} == {"action": CB_HOLD, "invalid_action": 1, "due": 1}
    assert (info["bank_1"]["action"], info["bank_1"]["invalid_action"]) == (HOLD, 1)


def test_integer_actions_of_every_kind_are_the_central_banks_moves():
    for action in (CB_INDEX["rate_up"], np.int64(CB_INDEX["rate_up"]), np.array([CB_INDEX["rate_up"]])):
        env = parallel_env(n_banks=4, **ON)
        env.reset(seed=0)
        assert env.step({CENTRAL_BANK: action})[4][CENTRAL_BANK]["action"] == CB_INDEX["rate_up"]


def test_the_central_bank_gym_env_takes_integer_actions_of_every_kind_and_refuses_others():
    from interbank.config import EnvConfig
    from interbank.policies import make_policy
    from interbank.train.central_bank import CentralBankGymEnv

    env = CentralBankGymEnv(EnvConfig(n_banks=4, max_steps=10), make_policy("hold"), seed=0)
    up = CB_INDEX["rate_up"]
    for action, invalid in ((np.array([up]), 0), (np.int64(up), 0), (1.9, 1), (None, 1)):
        env.reset(seed=1)
        assert env.step(action)[4]["invalid_action"] == invalid


def test_step_batch_refuses_float_and_bool_arrays():
    env = parallel_env(n_banks=4)
    env.reset(seed=0)
    for bad in (np.array([4, 2.7, 4, 4]), np.array([True, False, True, False])):
        with pytest.raises(TypeError, match="integer array"):
            env.step_batch(bad)
    assert env.system.t == 0
    assert env.step_batch(np.array([HOLD, INVEST, HOLD, N_ACTIONS], np.int32)).invalid[3]


# ------------------------------------------------------------------ what the caller holds
def test_observations_returned_are_copies_and_the_batch_arrays_read_only():
    for flat in (False, True):
        env = parallel_env(n_banks=4, flat_observation=flat)
        obs, infos = env.reset(seed=0)
        before = env.observation_array().copy(), env.action_mask_array().copy()
        if flat:
            obs["bank_0"][:] = 123.0
            infos["bank_0"]["action_mask"][:] = 0
        else:
            obs["bank_0"]["observation"][:] = 123.0
            obs["bank_0"]["action_mask"][:] = 0
        assert np.array_equal(env.observation_array(), before[0]) and np.array_equal(env.action_mask_array(), before[1])
        with pytest.raises(ValueError, match="read-only"):
            env.observation_array()[0, 0] = 1.0
        with pytest.raises(ValueError, match="read-only"):
            env.action_mask_array()[0, 0] = 0


def test_interventions_after_the_end_are_refused_and_amounts_are_real_numbers():
    env = parallel_env(n_banks=4, max_cycles=2, record_events=True)
    env.reset(seed=0)
    for amount in ("5", True, 1e308, float("nan"), -1.0, 0, 10**400):
        with pytest.raises(ValueError, match="amount"):
            env.add_capital("bank_1", amount)
        with pytest.raises(ValueError, match="amount"):
            env.central_bank("inject", "bank_1", amount)
    env.drain_events()
    assert env.add_capital("bank_1", np.float32(5.0))["amount"] == 5.0
    with pytest.raises(KeyError, match="unknown bank"):
        env.add_capital(1, 5.0)
    env.delete_bank("bank_2")
    with pytest.raises(KeyError, match="bank_2 has been deleted"):
        env.add_capital("bank_2", 5.0)
    while env.agents:
        env.step({})
    events = env.drain_events()
    assert events[-1]["type"] == "complete"
    for call in (lambda: env.add_capital("bank_1", 5.0), lambda: env.delete_bank("bank_1"),
                 lambda: env.central_bank("set_policy_rate", amount=0.01)):
        with pytest.raises(ValueError, match="the episode is over"):
            call()
    assert env.drain_events() == []

"""The ``central_bank`` agent beside the banks: heterogeneous spaces, masks, its instruments, its
reward, its events, and nothing changed when it is off or holds."""

import pickle

import numpy as np
import pytest
from pettingzoo.test import parallel_api_test

from interbank.config import EnvConfig
from interbank.envs import parallel_env
from interbank.envs.central_bank import CENTRAL_BANK
from interbank.envs.central_bank_observation import (
    CB_FEATURE_INDEX, CB_FEATURE_NAMES, N_CB_FEATURES, central_bank_cost,
)
from interbank.sim.accounts import net_worth
from interbank.envs.interbank_env import InterbankEnv
from interbank.envs.observation import FEATURE_INDEX
from interbank.sim.central_bank import CB_ACTIONS, CB_HOLD, CB_INDEX, N_CB_ACTIONS

ON = {"central_bank.agent": True}


def _env(n=8, config=None, **kw):
    return parallel_env(config, n_banks=n, **{**ON, **kw})


def _rollout(e, seed, steps):
    """Random actions for every agent, the central bank's drawn from its mask."""
    rng = np.random.default_rng(seed)
    obs, infos = e.reset(seed=seed)
    out = [(obs, infos)]
    for _ in range(steps):
        if not e.agents:
            break
        actions = {a: int(rng.integers(0, 5)) for a in e.agents if a != CENTRAL_BANK}
        allowed = np.flatnonzero(obs[CENTRAL_BANK]["action_mask"])
        actions[CENTRAL_BANK] = int(rng.choice(allowed))
        obs, *rest = e.step(actions)
        out.append((obs, *rest))
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


def test_parallel_api_test_passes_with_the_central_bank_agent():
    parallel_api_test(_env(10, seed=0), num_cycles=300)


def test_parallel_api_test_passes_with_the_agent_on_the_stress_scenario_where_banks_die():
    parallel_api_test(_env(12, "configs/stress.yaml", **{"central_bank.every": 3}), num_cycles=300)


def test_aec_api_test_passes_with_the_central_bank_agent():
    import warnings

    from pettingzoo.test import api_test

    from interbank.envs import env

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        api_test(env(n_banks=6, seed=1, **ON), num_cycles=200)


def test_the_central_bank_has_its_own_spaces():
    e = _env(5)
    assert e.possible_agents[-1] == CENTRAL_BANK and e.possible_agents[:-1] == [f"bank_{i}" for i in range(5)]
    cb_obs, bank_obs = e.observation_space(CENTRAL_BANK), e.observation_space("bank_0")
    assert cb_obs["observation"].shape == (N_CB_FEATURES,) and cb_obs["action_mask"].shape == (N_CB_ACTIONS,)
    assert cb_obs != bank_obs and e.action_space(CENTRAL_BANK).n == N_CB_ACTIONS == len(CB_ACTIONS)
    obs, infos = e.reset(seed=1)
    assert cb_obs.contains(obs[CENTRAL_BANK]) and infos[CENTRAL_BANK] == {"action": -1, "invalid_action": 0, "due": 1}
    for name in (*CB_FEATURE_NAMES, *CB_ACTIONS):  # the card's tables are generated from the same lists
        assert name in InterbankEnv.__doc__
    flat = _env(5, flat_observation=True)
    obs, _ = flat.reset(seed=1)
    assert obs[CENTRAL_BANK].shape == (N_CB_FEATURES + N_CB_ACTIONS,)
    assert flat.observation_space(CENTRAL_BANK).contains(obs[CENTRAL_BANK])


def test_same_seed_same_actions_same_episode_with_the_central_bank():
    a = _env(10, "configs/stress.yaml", max_cycles=60, record_events=True)
    b = _env(10, "configs/stress.yaml", max_cycles=60, record_events=True)
    _equal(_rollout(a, 5, 200), _rollout(b, 5, 200))
    assert a.drain_events() == b.drain_events()


def test_pickle_round_trip_with_the_central_bank_continues_identically():
    e = _env(8, record_events=True)
    _rollout(e, 3, 5)
    clone = pickle.loads(pickle.dumps(e))
    for step in range(10):
        actions = {a: 4 for a in e.agents}
        actions[CENTRAL_BANK] = [1, 3, 8, 5][step % 4]
        _equal(e.step(actions), clone.step(actions))
    assert e.drain_events() == clone.drain_events()


def test_between_decisions_only_hold_is_allowed_and_a_masked_move_changes_nothing():
    e = _env(6, **{"central_bank.every": 3})
    obs, _ = e.reset(seed=0)
    dues = []
    for _ in range(7):
        mask = obs[CENTRAL_BANK]["action_mask"]
        dues.append(bool(mask[1:].any()))
        rate = e.system.policy_rate
        obs, _, _, _, infos = e.step({CENTRAL_BANK: CB_INDEX["rate_up"]})
        if dues[-1]:
            assert e.system.policy_rate == pytest.approx(rate + 0.0025) and not infos[CENTRAL_BANK]["invalid_action"]
        else:
            assert e.system.policy_rate == rate
            assert infos[CENTRAL_BANK] == {"action": CB_HOLD, "invalid_action": 1, "due": infos[CENTRAL_BANK]["due"]}
    assert dues == [True, False, False, True, False, False, True]


def test_moves_are_masked_at_their_bounds():
    e = _env(6, **{"central_bank.max_policy_rate": 0.025, "central_bank.max_ccyb": 0.0125})
    obs, _ = e.reset(seed=0)
    mask = obs[CENTRAL_BANK]["action_mask"]
    assert mask[CB_INDEX["rate_up"]] and not mask[CB_INDEX["ccyb_down"]] and not mask[CB_INDEX["haircuts_normal"]]
    for move in ("rate_up", "rate_up", "ccyb_up", "ccyb_up", "haircuts_tight"):
        obs, *_ = e.step({CENTRAL_BANK: CB_INDEX[move]})
    mask = obs[CENTRAL_BANK]["action_mask"]
    assert not mask[CB_INDEX["rate_up"]] and not mask[CB_INDEX["ccyb_up"]] and not mask[CB_INDEX["haircuts_tight"]]
    assert mask[CB_INDEX["rate_down"]] and mask[CB_INDEX["ccyb_down"]] and mask[CB_INDEX["haircuts_normal"]]
    assert e.system.ccyb == pytest.approx(0.0125)
    _, _, _, _, infos = e.step({CENTRAL_BANK: CB_INDEX["rate_up"]})  # over the bound: executed as hold
    assert infos[CENTRAL_BANK]["invalid_action"] == 1 and e.system.policy_rate == pytest.approx(0.025)


def test_a_rate_move_shifts_the_whole_corridor():
    e = _env(6)
    e.reset(seed=0)
    s = e.system
    before = (s.deposit_facility_rate, s.policy_rate, s.lending_rate)
    e.step({CENTRAL_BANK: CB_INDEX["rate_up"]})
    after = (s.deposit_facility_rate, s.policy_rate, s.lending_rate)
    assert after == pytest.approx(tuple(r + 0.0025 for r in before))
    obs, *_ = e.step({CENTRAL_BANK: CB_INDEX["rate_down"]})
    assert s.policy_rate == pytest.approx(before[1])
    assert obs[CENTRAL_BANK]["observation"][CB_FEATURE_INDEX["policy_rate"]] == pytest.approx(10 * before[1])


def test_a_cut_to_zero_and_back_leaves_the_corridor_as_it_was():
    e = _env(6)
    e.reset(seed=0)
    s = e.system
    before = (s.deposit_facility_rate, s.policy_rate, s.lending_rate)
    moves = round(before[1] / 0.0025)
    for _ in range(moves):  # the floor stops at 0 halfway down
        e.step({CENTRAL_BANK: CB_INDEX["rate_down"]})
    assert s.policy_rate == pytest.approx(0.0) and s.deposit_facility_rate == 0.0
    for _ in range(moves):
        e.step({CENTRAL_BANK: CB_INDEX["rate_up"]})
    assert (s.deposit_facility_rate, s.policy_rate, s.lending_rate) == pytest.approx(before)


def test_the_countercyclical_buffer_raises_the_requirement_banks_see():
    e = _env(10)
    e.reset(seed=0)
    s = e.system
    base = s.min_capital_ratio
    buffer_before = e.observation_array()[:, FEATURE_INDEX["capital_buffer"]].copy()
    for _ in range(4):
        obs, *_ = e.step({CENTRAL_BANK: CB_INDEX["ccyb_up"]})
    assert s.ccyb == pytest.approx(0.025) and s.min_capital_ratio == pytest.approx(base + 0.025)
    assert obs[CENTRAL_BANK]["observation"][CB_FEATURE_INDEX["ccyb"]] == pytest.approx(2.5)
    # the banks' capital buffer is measured against the binding requirement, minimum + buffer
    live = s.active
    cr = s.capital_ratio()[live]
    expected = np.clip(cr / (base + 0.025) - 1.0, -1, 5)
    np.testing.assert_allclose(e.observation_array()[live, FEATURE_INDEX["capital_buffer"]], expected, rtol=1e-5)
    assert (e.observation_array()[live, FEATURE_INDEX["capital_buffer"]] < buffer_before[live] + 1e-6).all()
    # a user's new minimum keeps the buffer on top
    e.central_bank("set_capital_requirement", amount=0.1)
    assert s.min_capital_ratio == pytest.approx(0.125)


def test_tight_haircuts_lend_less_against_the_same_collateral():
    e = _env(8)
    e.reset(seed=0)
    s = e.system
    normal = s.collateral_capacity().sum()
    e.step({CENTRAL_BANK: CB_INDEX["haircuts_tight"]})
    tight = s.collateral_capacity().sum()
    e.step({CENTRAL_BANK: CB_INDEX["haircuts_wide"]})
    wide = s.collateral_capacity().sum()
    assert tight < wide and wide > normal * 1.05


def test_lending_goes_to_the_most_systemic_banks_and_stays_until_the_next_decision(event_validator):
    e = _env(12, record_events=True, **{"central_bank.lend_banks": 2, "central_bank.every": 2})
    e.reset(seed=4)
    s = e.system
    e.drain_events()
    cb_before = s.cb_loans.copy()
    e.step({CENTRAL_BANK: CB_INDEX["lend_systemic"]})
    events = [ev for ev in e.drain_events() if ev["type"] == "central_bank" and ev["data"].get("source") == "agent"]
    assert [ev["data"]["operation"] for ev in events] == ["inject", "inject"]
    lent = {ev["data"]["bank"]: ev["data"]["amount"] for ev in events}
    for name, amount in lent.items():
        i = int(name.split("_")[1])
        assert amount == pytest.approx(0.5 * s.capital0[i])
        assert s.cb_term[i] == pytest.approx(amount)
    # the two with the highest DebtRank among the live banks
    from interbank.sim.debtrank import debtrank
    led = s.ledger
    dr = debtrank(led.lender, led.borrower, led.amount, s.equity())
    # DebtRank was measured before the loans; the loans do not change equity or the ledger
    top = set(np.argsort(-dr, kind="stable")[:2].tolist())
    assert {int(n.split("_")[1]) for n in lent} == top
    # not repaid in the next step (not a decision step), whatever spare cash the bank has
    e.step({})
    for name in lent:
        i = int(name.split("_")[1])
        assert s.cb_loans[i] >= s.cb_term[i] > 0 and s.cb_loans[i] > cb_before[i]
    for ev in events:
        assert event_validator.is_valid(ev)


def test_reward_is_the_welfare_change_minus_weighted_own_losses():
    e = _env(12, "configs/stress.yaml", **{"central_bank.loss_weight": 3.0})
    e.reset(seed=2)
    s = e.system
    equity0 = float(s.capital0.sum())
    for step in range(40):
        if not e.agents:
            break
        welfare, losses = s.welfare(), central_bank_cost(s)
        _, rewards, *_ = e.step({CENTRAL_BANK: CB_INDEX["lend_systemic"] if step % 2 == 0 else CB_HOLD})
        expected = (s.welfare() - welfare) - 3.0 * (central_bank_cost(s) - losses)
        assert rewards[CENTRAL_BANK] == pytest.approx(expected, abs=1e-12)
        # its losses are minus its net worth in the sector accounts
        assert central_bank_cost(s) == pytest.approx(-net_worth(s)["central_bank"] / equity0, abs=1e-12)


def test_decisions_are_central_bank_events_from_the_agent_that_validate(event_validator):
    e = _env(8, record_events=True)
    e.reset(seed=0)
    moves = ["hold", "rate_up", "ccyb_up", "haircuts_wide", "lend_systemic", "rate_down", "ccyb_down", "haircuts_normal"]
    for move in moves:
        e.step({CENTRAL_BANK: CB_INDEX[move]})
    events = e.drain_events()
    for ev in events:
        assert event_validator.is_valid(ev), ev
    decisions = [ev["data"]["decision"] for ev in events if ev["type"] == "central_bank" and ev["data"].get("source") == "agent"]
    assert [d for i, d in enumerate(decisions) if i == 0 or d != decisions[i - 1]] == moves
    # a user's command is marked as the user's
    e.central_bank("set_policy_rate", amount=0.03)
    assert e.drain_events()[-1]["data"]["source"] == "user"


def test_a_bank_policy_drives_the_banks_and_the_rule_the_central_bank():
    from interbank.policies import act_on_env, make_policy

    e = _env(8, "configs/stress.yaml", max_cycles=20, **{"central_bank.rule": "bagehot"})
    e.reset(seed=0)
    policy = make_policy("heuristic")
    while e.agents:
        actions = act_on_env(policy, e)
        assert CENTRAL_BANK not in actions and set(actions) == set(e.agents) - {CENTRAL_BANK}
        e.step(actions)
    assert e.system.t == 20


def test_without_an_action_the_configured_rule_decides():
    e = _env(8, **{"central_bank.rule": "taylor", "central_bank.rule_params": {"neutral": 0.06}})
    e.reset(seed=0)
    e.step({})
    assert e.system.policy_rate == pytest.approx(0.0225)  # toward 6 %, one step
    e.central_bank_policy = lambda obs, mask: CB_INDEX["ccyb_up"]
    e.step({})
    assert e.system.ccyb == pytest.approx(0.00625)


def test_with_the_agent_off_the_env_and_its_config_are_as_before():
    e = parallel_env(n_banks=5)
    assert e.possible_agents == [f"bank_{i}" for i in range(5)] and e.central_bank_agent is None
    assert e.central_bank_policy is None
    with pytest.raises(KeyError):
        e.reset(seed=0) and e.step({CENTRAL_BANK: 0})
    # the agent's settings at their defaults are not dumped: digests and init events as before
    dumped = EnvConfig().model_dump()["central_bank"]
    assert set(dumped) == {"enabled", "deposit_rate", "policy_rate", "lending_rate", "book_haircut", "market_haircut"}
    assert EnvConfig().digest() == EnvConfig.model_validate({"central_bank": {"agent": False, "every": 1}}).digest()


def test_a_central_bank_that_holds_changes_nothing_for_the_banks():
    off = parallel_env("configs/stress.yaml", n_banks=12, max_cycles=60, record_events=True)
    on = parallel_env("configs/stress.yaml", n_banks=12, max_cycles=60, record_events=True, **ON)
    rng = np.random.default_rng(0)
    o1, _ = off.reset(seed=7)
    o2, _ = on.reset(seed=7)
    while off.agents:
        actions = {a: int(rng.integers(0, 5)) for a in off.agents}
        r1 = off.step(actions)
        r2 = on.step({**actions, CENTRAL_BANK: CB_HOLD})
        for part1, part2 in zip(r1, r2):
            _equal(part1, {k: v for k, v in part2.items() if k != CENTRAL_BANK})
    assert not on.agents
    strip = lambda evs: [(e["step"], e["type"], e["data"]) for e in evs  # noqa: E731
                         if e["type"] != "init" and not (e["type"] == "central_bank" and e["data"].get("source") == "agent")]
    assert strip(off.drain_events()) == strip(on.drain_events())


def test_bad_central_bank_settings_are_one_line_config_errors():
    from interbank.config import ConfigError, resolve_env_config

    for overrides, words in [
        ({"central_bank.rule": "volcker"}, "rule"),
        ({"central_bank.every": 0}, "every"),
        ({"central_bank.rule": "taylor", "central_bank.rule_params": {"speed": 1.0}}, "speed"),
        ({"central_bank.agent": True, "central_bank.policy_rate": 0.02, "central_bank.max_policy_rate": 0.01}, "max_policy_rate"),
    ]:
        with pytest.raises(ConfigError, match=words) as err:
            resolve_env_config(None, **overrides)
        assert "\n" not in str(err.value)


def test_the_env_card_mentions_the_central_bank():
    assert "central_bank" in InterbankEnv.__doc__

"""capital_guard, the example of a rule that is one file (interbank/policies/rules/capital_guard.py):
it acts as written, and the CLI, evaluate's tuning and the served vocabulary all offer it."""

import httpx
import numpy as np

from interbank.envs import parallel_env
from interbank.envs.observation import FEATURE_INDEX, N_FEATURES
from interbank.policies import BASELINES, RULE_GRIDS, RULES, act_on_env, make_policy
from interbank.sim.actions import DIVEST, HOLD, LEND
from tests.deadlines import HANG_S
from tests.interactive.conftest import serving
from tests.interactive.sse_client import read_events


def _rows(capital_buffer, reserve_buffer):
    obs = np.zeros((len(capital_buffer), N_FEATURES), np.float32)
    obs[:, FEATURE_INDEX["capital_buffer"]] = capital_buffer
    obs[:, FEATURE_INDEX["reserve_buffer"]] = reserve_buffer
    return obs


def test_it_divests_below_the_floor_lends_the_surplus_above_it_and_holds_otherwise():
    policy = make_policy("capital_guard", floor=0.5)
    obs = _rows([0.2, 0.2, 0.8, 0.8], [0.1, -0.1, 0.1, -0.1])
    assert policy.act(obs, np.ones((4, 5), np.int8)).tolist() == [DIVEST, DIVEST, LEND, HOLD]


def test_a_masked_choice_becomes_hold():
    mask = np.ones((2, 5), np.int8)
    mask[:, DIVEST] = mask[:, LEND] = 0
    assert make_policy("capital_guard").act(_rows([0.2, 0.8], [0.1, 0.1]), mask).tolist() == [HOLD, HOLD]


def test_in_the_env_it_only_takes_allowed_actions_and_lends_when_it_can():
    env = parallel_env("configs/smoke.yaml")
    env.reset(seed=0)
    policy, taken = make_policy("capital_guard", floor=1.0), []
    while env.agents:
        actions = act_on_env(policy, env)
        _, _, _, _, infos = env.step(actions)
        assert not any(infos[a]["invalid_action"] for a in actions if a in infos)
        taken += actions.values()
    assert LEND in taken


def test_it_is_a_rule_with_its_grid_and_evaluate_tunes_it():
    from interbank.evaluate.run import BASELINE_NAMES, plan

    assert "capital_guard" in BASELINES and "capital_guard" in RULES and "capital_guard" in BASELINE_NAMES
    assert RULE_GRIDS["capital_guard"] == {"floor": (0.25, 0.5, 1.0)}
    p = plan(None, episodes=1, config="configs/smoke.yaml", baselines=("capital_guard",), tune_episodes=1)
    tuned = p.tuning["rules"]["capital_guard"]
    assert set(tuned["scores"]) == {"capital_guard(0.25)", "capital_guard(0.5)", "capital_guard(1)"}
    assert [e.name for e in p.entries] == [f"capital_guard({tuned['best']['floor']:g})"]


def test_the_cli_offers_it():
    from interbank.cli import build_parser

    (sim,) = [a for a in build_parser()._subparsers._group_actions[0].choices["simulate"]._actions
              if a.dest == "policy"]
    assert "capital_guard" in sim.choices


def test_the_served_vocabulary_lists_it_and_a_session_runs_it_with_its_parameter():
    with serving("--no-store") as (base, _):
        policies = httpx.get(base + "/api/vocabulary", timeout=HANG_S).json()["policies"]
        (entry,) = [p for p in policies if p["name"] == "capital_guard"]
        assert entry["params"] == {"floor": 0.5} and entry["rule"] and entry["description"].startswith("Guard capital")
        body = {"policy": "capital_guard", "params": {"floor": 0.25}, "n_banks": 5, "steps": 3, "speed": 0}
        r = httpx.post(base + "/api/interactive/start", json=body, timeout=HANG_S)
        assert r.status_code == 201, r.text
        events = read_events(base + r.json()["stream_url"])
        assert events[0]["data"]["config"]["run"]["policy"] == "capital_guard(0.25)"
        assert events[-1]["type"] == "complete"

"""Bankruptcy cost, the example of a clearing model that is one file
(interbank/sim/clearing_models/bankruptcy_cost.py)."""

import numpy as np
import pytest
import scipy.sparse as sp

from interbank.config import ConfigError, resolve_env_config
from interbank.envs import parallel_env
from interbank.sim.actions import HOLD
from interbank.sim.clearing import CLEARING_MODELS
from tests.sim.test_cascade import SCENARIO as CASCADE


def _recovery(liabilities, external, cost):
    """The registered model's answer on a liabilities matrix (rows owe columns)."""
    liabilities = np.asarray(liabilities, float)
    p_bar = liabilities.sum(axis=1)
    pi_t = sp.csr_matrix(np.divide(liabilities, p_bar[:, None], out=np.zeros_like(liabilities),
                                   where=p_bar[:, None] > 0).T)
    cfg = resolve_env_config({"clearing": {"model": "bankruptcy_cost", "params": {"cost": cost}}}).clearing
    return CLEARING_MODELS["bankruptcy_cost"](pi_t, p_bar, np.asarray(external, float), cfg)


def test_a_chain_of_defaults_loses_the_cost_at_each_link():
    # A owes B 100 and has 50 outside: it defaults and realises 0.8 x 50 = 40 -> pays 40%.
    # B owes C 80 and has 20 outside: 20 + 40 = 60 < 80, it defaults and realises 0.8 x 60 = 48 -> 60%.
    liabilities = [[0, 100, 0], [0, 0, 80], [0, 0, 0]]
    np.testing.assert_allclose(_recovery(liabilities, [50, 20, 0], 0.2), [0.4, 0.6, 1.0])


def test_no_cost_is_eisenberg_noe():
    rng = np.random.default_rng(1)
    liabilities = rng.random((8, 8)) * (rng.random((8, 8)) < 0.4) * 10
    np.fill_diagonal(liabilities, 0)
    external = rng.random(8) * 3
    p_bar = liabilities.sum(axis=1)
    pi_t = sp.csr_matrix(np.divide(liabilities, p_bar[:, None], out=np.zeros_like(liabilities),
                                   where=p_bar[:, None] > 0).T)
    cfg = resolve_env_config(None).clearing
    np.testing.assert_allclose(_recovery(liabilities, external, 0.0),
                               CLEARING_MODELS["eisenberg_noe"](pi_t, p_bar, external, cfg))


def test_in_the_env_a_defaulted_bank_pays_what_is_left_after_the_cost():
    """tests/sim/test_cascade.py's three banks: A loses 15 and defaults with 85 of cash for 90 owed
    (30 to B, 60 to depositors). With a cost of 20% it realises 68, so B recovers 68/90 of its 30."""
    env = parallel_env({**CASCADE, "clearing": {"model": "bankruptcy_cost", "params": {"cost": 0.2}}},
                       record_events=True)
    env.reset(seed=0)
    env.step({a: HOLD for a in env.agents})
    events = env.drain_events()
    assert [e["data"]["bank"] for e in events if e["type"] == "default"] == ["bank_0"]
    (cascade,) = [e["data"] for e in events if e["type"] == "cascade"]
    assert cascade["losses"] == pytest.approx(30 - 68 * 30 / 90)
    (end,) = [e["data"] for e in events if e["type"] == "step_end"]
    assert {b["id"]: b for b in end["banks"]}["bank_1"]["equity"] == pytest.approx(10 - (30 - 68 * 30 / 90))


def test_in_the_env_it_settles_defaults_as_rogers_veraart_with_the_same_costs():
    def steps(clearing):
        env = parallel_env({**CASCADE, "clearing": clearing}, record_events=True)
        env.reset(seed=0)
        env.step({a: HOLD for a in env.agents})
        return [e for e in env.drain_events() if e["type"] != "init"]  # init carries the config itself

    assert steps({"model": "bankruptcy_cost", "params": {"cost": 0.6}}) == steps(
        {"model": "rogers_veraart", "alpha": 0.4, "beta": 0.4})


@pytest.mark.parametrize("clearing, words", [
    ({"model": "bankruptcy_cost", "params": {"cost": 1.0}}, "cost must be a number in"),
    ({"model": "bankruptcy_cost", "params": {"haircut": 0.1}}, r"haircut not a parameter \(it takes cost\)"),
    ({"model": "eisenberg_noe", "params": {"cost": 0.1}}, "takes none"),
])
def test_bad_clearing_params_are_a_config_error_naming_them(clearing, words):
    with pytest.raises(ConfigError, match=words):
        resolve_env_config({"clearing": clearing})


def test_a_model_without_params_is_dumped_as_before_params_existed():
    assert "params" not in resolve_env_config(None).model_dump()["clearing"]

"""Regime switching, the example of a market dynamic that is one file
(interbank/sim/market_dynamics/regime_switching.py)."""

import numpy as np
import pytest

from interbank.config import ConfigError, resolve_env_config
from interbank.envs import parallel_env
from interbank.sim.actions import HOLD

DRIFT = 0.001


def _run(dynamic_params, steps=6):
    """Everyone HOLDs (no flows, so no impact) and nothing crashes: only the dynamic moves prices.
    Returns the log prices after each step and the events."""
    env = parallel_env({
        "n_banks": 5, "max_steps": steps, "shocks": {"crash_prob": 0.0, "withdrawal_prob": 0.0},
        "markets": {"drift": DRIFT, "dynamic": {"type": "regime_switching", "params": dynamic_params}},
    }, record_events=True)
    env.reset(seed=0)
    events, logs = env.drain_events(), [np.log(env.system.price.copy())]
    while env.agents:
        env.step({a: HOLD for a in env.agents})
        events += env.drain_events()
        logs.append(np.log(env.system.price.copy()))
    return np.array(logs), events


def test_a_calm_market_with_no_volatility_grows_exactly_at_the_drift():
    logs, events = _run({"calm_volatility": 0.0, "stress_volatility": 0.3, "enter": 0.0})
    np.testing.assert_allclose(np.diff(logs, axis=0), DRIFT, rtol=0, atol=1e-12)
    assert not [e for e in events if e["type"] == "regime_switch"]


def test_markets_switch_every_step_when_both_switches_are_certain_and_only_stress_moves_them():
    logs, events = _run({"calm_volatility": 0.0, "stress_volatility": 0.05, "enter": 1.0, "leave": 1.0})
    moves = np.diff(logs, axis=0) - DRIFT
    # steps 1, 3, 5 are stressed (random moves); steps 2, 4, 6 calm (the drift exactly)
    assert (np.abs(moves[0::2]) > 1e-6).all()
    np.testing.assert_allclose(moves[1::2], 0.0, atol=1e-12)
    switches = [(e["step"], e["data"]["market"], e["data"]["regime"]) for e in events if e["type"] == "regime_switch"]
    assert switches == [(t, m, "stress" if t % 2 else "calm")
                        for t in range(1, 7) for m in ("BANK_INDEX", "FIN_SERVICES")]
    assert {e["data"]["volatility"] for e in events if e["type"] == "regime_switch"} == {0.0, 0.05}


def test_the_same_seed_gives_the_same_regimes_and_prices():
    a, ea = _run({"enter": 0.3, "leave": 0.3}, steps=12)
    b, eb = _run({"enter": 0.3, "leave": 0.3}, steps=12)
    assert np.array_equal(a, b) and ea == eb


@pytest.mark.parametrize("params, words", [
    ({"enter": 1.5}, "enter must be a number in"),
    ({"calm_volatility": "high"}, "calm_volatility must be a number"),
    ({"persistence": 0.9}, r"persistence not a parameter \(it takes calm_volatility, stress_volatility, enter, leave\)"),
])
def test_bad_regime_params_are_a_config_error_naming_them(params, words):
    with pytest.raises(ConfigError, match=words):
        resolve_env_config({"markets": {"dynamic": {"type": "regime_switching", "params": params}}})


def test_the_default_dynamic_is_the_random_walk_and_is_dumped_as_before_dynamics_existed():
    cfg = resolve_env_config(None)
    assert cfg.markets.dynamic.type == "random_walk"
    assert "dynamic" not in cfg.model_dump()["markets"]
    with pytest.raises(ConfigError, match="random_walk' takes none"):
        resolve_env_config({"markets": {"dynamic": {"params": {"enter": 0.1}}}})
    with pytest.raises(ConfigError, match="is not one of"):
        resolve_env_config({"markets": {"dynamic": {"type": "garch"}}})

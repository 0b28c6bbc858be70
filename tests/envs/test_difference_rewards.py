"""Difference rewards pay each bank the welfare its own action changed, against HOLD."""

import numpy as np
import pytest

from interbank.config import ConfigError, EnvConfig, parse_env_config
from interbank.envs import parallel_env
from interbank.sim.actions import BORROW, DIVEST, HOLD, INVEST, LEND

# a hand-built economy: four banks of different sizes and risks on a ring of loans
BANKS = [
    {"capital": 120, "target_leverage": 10, "risk": 0.3},
    {"capital": 80, "target_leverage": 14, "risk": 0.8},
    {"capital": 200, "target_leverage": 8, "risk": 0.2},
    {"capital": 60, "target_leverage": 18, "risk": 0.9},
]
HISTORY = [
    [INVEST, LEND, INVEST, HOLD],
    [LEND, INVEST, BORROW, INVEST],
    [DIVEST, BORROW, INVEST, LEND],
    [INVEST, DIVEST, LEND, BORROW],
]


def _config(objective: str, **reward) -> dict:
    return {"banks": BANKS, "max_steps": 10, "markets": {"volatility": 0.03}, "shocks": {"crash_prob": 0.2, "crash_size": 0.1},
            "reward": {"objective": objective, "buffer_weight": 0.0, **reward}}


def _welfare_after(history: list[list[int]], seed: int) -> float:
    """Replay a history from reset, independently of the env's own counterfactual machinery."""
    env = parallel_env(_config("selfish"))
    env.reset(seed=seed)
    for actions in history:
        env.step_batch(np.array(actions))
    return env.system.welfare()


def test_difference_reward_equals_the_counterfactual_welfare_difference():
    seed = 7
    env = parallel_env(_config("difference"))
    env.reset(seed=seed)
    capital0 = env.system.capital0.copy()
    total0 = capital0.sum()
    checked = 0
    for t, actions in enumerate(HISTORY):
        batch = env.step_batch(np.array(actions))
        assert batch.acted.all()
        executed = batch.executed.tolist()
        factual = _welfare_after([h for h in HISTORY[: t + 1]], seed)
        for i in range(len(BANKS)):
            if executed[i] == HOLD:
                assert batch.rewards[i] == 0.0
                continue
            alt = [list(h) for h in HISTORY[: t + 1]]
            alt[t] = list(executed)
            alt[t][i] = HOLD
            expected = (factual - _welfare_after(alt, seed)) * total0 / capital0[i]
            assert batch.rewards[i] == pytest.approx(expected, rel=1e-9, abs=1e-12)
            checked += 1
    assert checked >= 8
    assert np.any(np.abs([r for r in env.step_batch(np.array([INVEST, INVEST, INVEST, INVEST])).rewards]) > 0)


def test_difference_rewards_leave_the_simulation_unchanged():
    plain, credited = parallel_env(_config("selfish"), record_events=True), parallel_env(_config("difference"), record_events=True)
    plain.reset(seed=3)
    credited.reset(seed=3)
    for actions in HISTORY:
        plain.step_batch(np.array(actions))
        credited.step_batch(np.array(actions))
    strip = lambda events: [e for e in events if e["type"] != "init"]  # noqa: E731 (init carries the config)
    assert strip(plain.drain_events()) == strip(credited.drain_events())
    assert np.array_equal(plain.observation_array(), credited.observation_array())


def test_sampled_difference_rewards_are_reproducible_and_weighted():
    def run() -> np.ndarray:
        env = parallel_env(_config("difference", difference_samples=1))
        env.reset(seed=11)
        return np.stack([env.step_batch(np.array(a)).rewards for a in HISTORY])

    first, again = run(), run()
    assert np.array_equal(first, again)
    # at most one bank credited per step
    assert ((first != 0).sum(axis=1) <= 1).all()


def test_difference_samples_must_be_positive():
    with pytest.raises(ConfigError, match="difference_samples"):
        parse_env_config({"reward": {"objective": "difference", "difference_samples": 0}}, "x.yaml")


def test_unset_difference_samples_keeps_the_config_digest():
    assert "difference_samples" not in EnvConfig().model_dump()

"""The RLlib vector env of single-bank slots: gymnasium's next-step autoreset, padding for gone
banks, and the same banks, actions and rewards as the plain env."""

import numpy as np
import pytest

from interbank.config import parse_env_config
from interbank.envs import parallel_env
from interbank.sim.actions import HOLD
from interbank.train.rllib_env import BankSlotsVectorEnv

# a harsh scenario: banks default during the episode and whole copies can collapse
HARSH = {
    "n_banks": 10, "max_steps": 15,
    "generation": {"leverage_low": 20, "leverage_high": 30},
    "balance_sheet": {"market_share": 0.3},  # a third of the assets in markets that crash half the time
    "shocks": {"crash_prob": 0.3, "crash_size": 0.5},
}


def _random_allowed(rng, masks):
    return np.array([rng.choice(np.flatnonzero(m)) for m in masks])


def test_slots_follow_next_step_autoreset_and_padding_never_counts():
    cfg = parse_env_config(HARSH, source="test")
    vec = BankSlotsVectorEnv(cfg, 2)
    obs, _ = vec.reset(seed=7)
    rng = np.random.default_rng(0)
    done_before = np.zeros(vec.num_envs, bool)
    saw = {"terminated": 0, "padding": 0, "copy_reset": 0}
    for _ in range(120):
        actions = _random_allowed(rng, obs["action_mask"])
        live_before = obs["live"][:, 0] > 0.5
        obs, rewards, terminated, truncated, _ = vec.step(actions)
        done = terminated | truncated
        # a slot done at the last step delivers a reset observation now: never done twice in a row
        assert not (done & done_before).any()
        # padding: zero observation, only HOLD allowed, zero reward for an action taken on padding
        pad = obs["live"][:, 0] < 0.5
        assert (obs["observations"][pad] == 0).all()
        assert (obs["action_mask"][pad].argmax(axis=1) == HOLD).all() and (obs["action_mask"][pad].sum(axis=1) == 1).all()
        assert (rewards[~live_before] == 0).all()
        # only a live bank can terminate (it defaulted)
        assert not (terminated & ~live_before).any()
        saw["terminated"] += int(terminated.sum())
        saw["padding"] += int(pad.sum())
        saw["copy_reset"] += int((done_before & (obs["live"][:, 0] > 0.5)).sum())
        done_before = done
    assert saw["terminated"] and saw["padding"] and saw["copy_reset"]  # the scenario exercised every path


def test_live_slots_see_and_earn_exactly_what_the_plain_env_gives_the_same_banks():
    cfg = parse_env_config(HARSH, source="test")
    vec = BankSlotsVectorEnv(cfg, 1)
    ref = parallel_env(cfg)
    obs, _ = vec.reset(seed=3)
    ref.reset(seed=3)
    rng = np.random.default_rng(1)
    for _ in range(cfg.max_steps):
        np.testing.assert_array_equal(obs["observations"][obs["live"][:, 0] > 0.5], ref.observation_array()[ref.system.active])
        actions = _random_allowed(rng, obs["action_mask"])
        live = obs["live"][:, 0] > 0.5
        obs, rewards, terminated, truncated, _ = vec.step(actions)
        batch = ref.step_batch(np.where(live, actions, HOLD))
        np.testing.assert_allclose(rewards[live], batch.rewards[live].astype(np.float32))
        np.testing.assert_array_equal(terminated, batch.terminated)
        if ref.system.done:
            assert (terminated | truncated)[live].all()
            break


def test_rllib_builds_it_from_env_config_with_a_multiple_of_n_banks():
    from interbank.train.rllib_env import env_class

    cls = env_class()
    vec = cls({"n_banks": 4, "max_steps": 5, "num_envs": 8})
    assert vec.num_envs == 8 and len(vec.envs) == 2
    with pytest.raises(ValueError, match="not a positive multiple of n_banks 4"):
        cls({"n_banks": 4, "num_envs": 6})


def test_padding_is_masked_out_of_the_loss_and_out_of_the_decision_count():
    pytest.importorskip("ray")
    from ray.rllib.core.columns import Columns
    from ray.rllib.env.single_agent_episode import SingleAgentEpisode

    from interbank.train.rllib_connectors import BankDecisions, PaddingLossMask

    def obs(live):
        return {"observations": np.zeros(3, np.float32), "action_mask": np.ones(5, np.float32), "live": np.array([live], np.float32)}

    lives = [1.0, 1.0, 0.0, 0.0, 1.0]
    episode = SingleAgentEpisode(id_="e", observations=[obs(x) for x in lives], actions=[4] * 4, rewards=[0.0] * 4, len_lookback_buffer=0)
    batch = {Columns.LOSS_MASK: {("e",): [True, True, True, True, False]}}
    PaddingLossMask()(rl_module=None, batch=batch, episodes=[episode])
    assert batch[Columns.LOSS_MASK][("e",)] == [True, True, False, False, False]

    class Logger:
        def log_value(self, key, value, reduce=None):
            self.logged = (key, value, reduce)

    logger = Logger()
    BankDecisions().on_sample_end(metrics_logger=logger, samples=[episode])
    assert logger.logged == ("interbank_bank_decisions", 2, "lifetime_sum")  # steps 0..3: two live

"""Each reference rule does what its name says, run through the whole environment."""

import numpy as np
import pytest

from interbank.envs import parallel_env
from interbank.envs.observation import FEATURE_INDEX
from interbank.policies import RULE_GRIDS, make_policy
from interbank.policies.baselines import reserve_cover
from interbank.evaluate.episode import evaluate_episode
from interbank.sim.actions import BORROW, DIVEST, INVEST, LEND

# 8 banks with market positions and interbank loans, calm markets, no shocks: nothing forces anyone's hand
SCENARIO = {
    "n_banks": 8, "max_steps": 40,
    "network": {"type": "erdos_renyi", "avg_degree": 3},
    "balance_sheet": {"market_share": 0.15, "interbank_share": 0.2},
    "shocks": {"crash_prob": 0.0, "withdrawal_prob": 0.0},
}


class Recorder:
    """Wraps a policy and keeps what it saw and chose."""

    def __init__(self, inner):
        self.inner, self.name, self.seen = inner, inner.name, []

    def reset(self, seed=None):
        self.inner.reset(seed)

    def act(self, observations, masks):
        actions = self.inner.act(observations, masks)
        self.seen.append((observations.copy(), np.asarray(masks).copy(), actions.copy()))
        return actions


def test_hoard_ends_with_no_positions_and_no_loans_out():
    """Nothing left above the minimum trade (1% of capital), so neither DIVEST nor BORROW is possible."""
    env = parallel_env(SCENARIO)
    env.reset(seed=3)
    floor = env.config.actions.min_trade * env.system.capital0
    assert (env.system.investment_values().max(axis=1) > 10 * floor).all() and env.system.loans_out().sum() > 0
    evaluate_episode(env, make_policy("hoard"), seed=3)
    s = env.system
    alive = s.active
    assert alive.all()
    assert (s.investment_values().max(axis=1) < floor)[alive].all()
    assert (s.loans_out() < floor)[alive].all()


@pytest.mark.parametrize("c", [1.5, 6.0])
def test_lend_surplus_lends_only_above_the_threshold_and_calls_only_below(c):
    rec = Recorder(make_policy("lend_surplus", c=c))
    result = evaluate_episode(parallel_env(SCENARIO), rec, seed=5)
    obs = np.concatenate([o for o, _, _ in rec.seen])
    acts = np.concatenate([a for _, _, a in rec.seen])
    cover = reserve_cover(obs)
    assert (acts == LEND).any() and (cover[acts == LEND] > c).all()
    assert (cover[acts == BORROW] < c).all()
    assert not np.isin(acts, [INVEST, DIVEST]).any()
    assert result.action_counts[LEND] > 0


def test_invest_momentum_follows_the_markets():
    p = make_policy("invest_momentum", threshold=0.02)
    rows = np.zeros((3, len(FEATURE_INDEX) + 3), np.float32)
    rows[0, FEATURE_INDEX["market_momentum"]] = 0.05   # rising everywhere -> invest
    rows[1, FEATURE_INDEX["market_momentum"]] = -0.05  # falling -> divest
    rows[:, FEATURE_INDEX["cash_ratio"]] = 0.1
    rows[:, FEATURE_INDEX["reserve_buffer"]] = 0.09    # cover 10 > 3 -> otherwise lend
    assert p.act(rows, np.ones((3, 5), np.int8)).tolist() == [INVEST, DIVEST, LEND]


def test_every_grid_point_builds_a_named_policy():
    from interbank.evaluate.tuning import grid_points

    for family in RULE_GRIDS:
        names = {make_policy(family, **params).name for params in grid_points(family)}
        assert len(names) == len(grid_points(family))

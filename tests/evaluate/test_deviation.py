"""Unilateral deviations (``interbank.evaluate.deviation``): same shocks for every profile, the
figures solved by hand from given totals, and the quiet market's social dilemma."""

import numpy as np
import pytest

from interbank.config import EnvConfig, resolve_env_config
from interbank.envs import parallel_env
from interbank.evaluate.deviation import (
    DeviationTask,
    deviation_tasks,
    play_profile,
    summarise,
    verdict,
)
from interbank.evaluate.parallel import map_tasks
from interbank.policies import make_policy
from interbank.sim.actions import HOLD, LEND


class Spy:
    """HOLD, recording how many banks it is asked about per call."""

    name = "spy"

    def __init__(self):
        self.rows: list[int] = []

    def reset(self, seed=None):
        self.rows.clear()

    def act(self, observations, masks):
        self.rows.append(observations.shape[0])
        return np.full(observations.shape[0], HOLD)


def test_a_deviation_that_plays_the_same_changes_nothing_for_anyone():
    cfg = resolve_env_config(n_banks=8, max_steps=30)
    spy = Spy()
    base = play_profile(DeviationTask(cfg, make_policy("hold"), None, 5, None))
    same = play_profile(DeviationTask(cfg, make_policy("hold"), spy, 5, 3))
    assert np.array_equal(base, same)  # the same network and shocks whatever the profile
    assert spy.rows and set(spy.rows) == {1}  # asked about its own bank only, once per step it is live


def test_one_bank_lending_alone_changes_its_figures_and_reaches_its_borrowers():
    # the stress scenario: banks run short of reserves, so a lender finds borrowers
    cfg = resolve_env_config("configs/stress.yaml", n_banks=20, max_steps=40)

    class Lender:
        name = "lender"

        def reset(self, seed=None):
            pass

        def act(self, observations, masks):
            return np.where(masks[:, LEND] == 1, LEND, HOLD)

    env = parallel_env(cfg)
    env.reset(seed=2)
    bank = int(np.argmax(env.system.liquidity_coverage()))  # the most liquid bank: its LEND is not masked
    base = play_profile(DeviationTask(cfg, make_policy("hold"), None, 2, None))
    dev = play_profile(DeviationTask(cfg, make_policy("hold"), Lender(), 2, bank))
    assert dev[bank] != base[bank]  # its lending earns (or costs) it something
    assert not np.array_equal(np.delete(dev, bank), np.delete(base, bank))  # and reaches its borrowers


def test_summary_by_hand():
    # 2 banks, 2 episodes: episode 0 deviator is bank 0, episode 1 bank 1
    results = {
        ("B", None, 0): np.array([1.0, 1.0]), ("B", "D", 0): np.array([1.5, 0.75]),
        ("B", None, 1): np.array([2.0, 2.0]), ("B", "D", 1): np.array([1.5, 2.25]),
        ("B", "E", 0): np.array([0.5, 1.0]), ("B", "E", 1): np.array([2.0, 1.0]),
    }
    s = summarise(results, n_banks=2, episodes=2)["B"]
    d = s["deviations"]["D"]
    assert d["gain"] == pytest.approx((0.5 + 0.25) / 2)
    assert d["stderr"] == pytest.approx(np.std([0.5, 0.25], ddof=1) / np.sqrt(2))
    assert d["others"] == pytest.approx((-0.25 - 0.5) / 2) and d["better_share"] == 1.0
    e = s["deviations"]["E"]
    assert e["gain"] == pytest.approx(-0.75) and e["others"] == 0.0 and e["better_share"] == 0.0
    assert s["best_deviation"] == "D" and s["best_gain"] == pytest.approx(0.375)
    # z = 0.375 / 0.125 = 3 > the one-sided 5% quantile after Bonferroni for 2 deviations (1.96)
    assert d["z"] == pytest.approx(3.0) and s["z_threshold"] == pytest.approx(1.95996, abs=1e-4)
    assert s["paying"] == ["D"] and s["significant"] is True


def test_the_best_of_many_noisy_gains_needs_a_larger_z():
    table = {f"d{k}": {"gain": 0.02, "stderr": 0.01} for k in range(28)}  # z = 2 each: the best of 28 by chance
    assert verdict(table)["significant"] is False and verdict(table)["z_threshold"] > 2.9
    assert verdict({"d0": {"gain": 0.02, "stderr": 0.01}})["paying"] == ["d0"]  # alone, z = 2 > 1.645


def test_tasks_pair_every_deviation_with_the_base_run_and_rotate_the_deviator():
    cfg = resolve_env_config(n_banks=3, max_steps=5)
    hold, hoard = make_policy("hold"), make_policy("hoard")
    keys = [k for k, _ in deviation_tasks(cfg, {"hold": hold}, {"hold": hold, "hoard": hoard}, 10, 4)]
    assert keys == [("hold", None, 0), ("hold", "hoard", 0), ("hold", None, 1), ("hold", "hoard", 1),
                    ("hold", None, 2), ("hold", "hoard", 2), ("hold", None, 3), ("hold", "hoard", 3)]
    tasks = dict(deviation_tasks(cfg, {"hold": hold}, {"hoard": hoard}, 10, 4))
    assert [tasks[("hold", "hoard", i)].deviator for i in range(4)] == [0, 1, 2, 0]
    assert [tasks[("hold", "hoard", i)].seed for i in range(4)] == [10, 11, 12, 13]


def test_in_the_quiet_market_lending_little_is_not_an_equilibrium():
    """Every bank on lend_surplus(12) (lend only far above the reserve requirement, call loans
    back below it) gives a higher mean return than lending freely, but one bank alone gains by
    lending freely (lend_surplus(1.5)): its borrowers pay it interest (docs/learning.md)."""
    cfg = EnvConfig()
    tasks = deviation_tasks(cfg, {"ls12": make_policy("lend_surplus", c=12.0)},
                            {"ls1.5": make_policy("lend_surplus", c=1.5)}, 0, 30)
    totals = dict(zip((k for k, _ in tasks), map_tasks(play_profile, [t for _, t in tasks], workers=2)))
    r = summarise(totals, cfg.n_banks, 30)["ls12"]
    assert r["paying"] == ["ls1.5"] and r["deviations"]["ls1.5"]["better_share"] > 0.5


def test_a_certain_gain_is_paying_and_still_valid_json():
    import json

    from interbank.evaluate.deviation import verdict

    table = {"always": {"gain": 0.5, "stderr": 0.0, "others": 0.0, "better_share": 1.0},
             "never": {"gain": 0.0, "stderr": 0.0, "others": 0.0, "better_share": 0.0}}
    result = verdict(table)
    assert result["paying"] == ["always"]
    assert table["always"]["z"] is None and table["never"]["z"] == 0.0
    json.dumps(result, allow_nan=False)  # metrics.json is written this way

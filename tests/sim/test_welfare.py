"""Social welfare solved by hand on a two-bank episode with one default.

A (bank_0): capital 10, leverage 10 -> assets 100 in cash, deposits 90.
B (bank_1): capital 50, leverage 4 -> assets 200 in cash, deposits 150.
No interbank loans, markets, book, flows, rates or requirements. At step 1 A loses 15 of cash:
assets 85 against deposits 90, equity -5, A defaults. Eisenberg-Noe: A pays its depositors
85 of 90, so they lose 5. Welfare = (open banks' equity 50 - losses to outsiders 5) / initial
equity 60 = 0.75. The social objective pays both banks the change, -0.25; the selfish one pays A
-1 - default_penalty (its equity, 10 = its capital, plus the bankruptcy cost) and B 0.
"""

import pytest

from interbank.envs import parallel_env
from interbank.policies import make_policy
from interbank.evaluate.episode import evaluate_episode
from interbank.sim.actions import HOLD
from tests.sim.scenarios import everything_off

SCENARIO = everything_off(
    max_steps=2, seed=0,
    banks=[{"capital": 10, "target_leverage": 10, "risk": 0.5}, {"capital": 50, "target_leverage": 4, "risk": 0.5}],
    clearing={"model": "eisenberg_noe"},
    shocks={"scheduled": [{"step": 1, "type": "capital_loss", "bank": 0, "size": 1.5}]},
)


def _step(objective: str):
    env = parallel_env({**SCENARIO, "reward": {"objective": objective}})
    env.reset(seed=0)
    assert env.system.welfare() == pytest.approx(1.0)
    _, rewards, terms, _, _ = env.step({a: HOLD for a in env.agents})
    return env, rewards, terms


def test_welfare_after_a_default_counts_losses_to_depositors():
    env, _, terms = _step("selfish")
    assert terms == {"bank_0": True, "bank_1": False}
    assert env.system.external_losses == pytest.approx(5.0)
    assert env.system.welfare() == pytest.approx((50 - 5) / 60)


def test_social_objective_pays_every_bank_the_change_in_welfare():
    env, rewards, _ = _step("social")
    assert rewards == pytest.approx({"bank_0": -0.25, "bank_1": -0.25})


def test_selfish_objective_pays_each_bank_its_own_equity_change():
    env, rewards, _ = _step("selfish")
    assert rewards["bank_0"] == pytest.approx(-1.0 - env.config.reward.default_penalty)
    assert rewards["bank_1"] == pytest.approx(0.0)


def test_rollout_reports_the_welfare_and_the_losses():
    result = evaluate_episode(parallel_env(SCENARIO), make_policy("hold"), seed=0)
    assert result.welfare == pytest.approx(0.75)
    assert result.defaults == 1
    assert sum(result.action_counts) == 2 + 1  # two banks at step 1, B alone at step 2

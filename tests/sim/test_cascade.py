"""A hand-solved 3-bank cascade, run through the whole environment.

A (bank_0): capital 10, leverage 10 -> assets 100; borrowed 30 from B; deposits 60; cash 100.
B (bank_1): capital 10, leverage 10 -> assets 100; lent 30 to A, borrowed 20 from C; deposits 70; cash 70.
C (bank_2): capital 50, leverage 4 -> assets 200; lent 20 to B; deposits 150; cash 180.
No markets, no loan book, no deposit flows, no interest or costs, no reserve requirement
(the funding market and central bank have nothing to do). At step 1 A loses 15 of cash (1.5 x its capital): equity -5.
Zero recovery: B loses its 30 claim -> equity -20 -> defaults; C loses 20 -> equity 30, survives.
Eisenberg-Noe instead: A pays its 85 pro rata over 90 owed, B recovers 85/90 of 30, loses 1.67, survives.
"""

import pytest

from interbank.envs import parallel_env
from interbank.sim.actions import HOLD
from tests.sim.scenarios import everything_off

SCENARIO = everything_off(
    max_steps=3, seed=0,
    banks=[
        {"capital": 10, "target_leverage": 10, "risk": 0.5},
        {"capital": 10, "target_leverage": 10, "risk": 0.5},
        {"capital": 50, "target_leverage": 4, "risk": 0.5},
    ],
    network={"edges": [[1, 0, 30], [2, 1, 20]]},
    shocks={"scheduled": [{"step": 1, "type": "capital_loss", "bank": 0, "size": 1.5}]},
)


def _run(clearing: dict):
    env = parallel_env({**SCENARIO, "clearing": clearing}, record_events=True)
    env.reset(seed=0)
    start = {s["id"]: s for s in env.system.snapshots()}
    _, rewards, terms, _, _ = env.step({a: HOLD for a in env.agents})
    return env, start, env.drain_events(), rewards, terms


def test_initial_balance_sheets_match_the_hand_calculation():
    env, start, *_ = _run({"model": "fixed_recovery", "recovery": 0.0})
    assert start["bank_0"]["cash"] == pytest.approx(100) and start["bank_0"]["deposits"] == pytest.approx(60)
    assert start["bank_1"]["cash"] == pytest.approx(70) and start["bank_1"]["deposits"] == pytest.approx(70)
    assert start["bank_2"]["cash"] == pytest.approx(180) and start["bank_2"]["deposits"] == pytest.approx(150)
    assert [start[b]["equity"] for b in ("bank_0", "bank_1", "bank_2")] == pytest.approx([10, 10, 50])


def test_shock_defaults_a_then_b_by_contagion_and_c_survives():
    env, _, events, rewards, terms = _run({"model": "fixed_recovery", "recovery": 0.0})
    defaults = [e["data"] for e in events if e["type"] == "default"]
    assert [(d["bank"], d["cause"]) for d in defaults] == [("bank_0", "insolvency"), ("bank_1", "contagion")]
    assert defaults[0]["equity"] == pytest.approx(-5)
    assert defaults[1]["equity"] == pytest.approx(-20)
    (cascade,) = [e["data"] for e in events if e["type"] == "cascade"]
    assert cascade["trigger"] == ["bank_0"]
    assert cascade["defaulted"] == ["bank_0", "bank_1"]
    assert cascade["depth"] == 2
    assert cascade["losses"] == pytest.approx(50)
    (end,) = [e["data"] for e in events if e["type"] == "step_end"]
    banks = {b["id"]: b for b in end["banks"]}
    assert banks["bank_2"]["equity"] == pytest.approx(30) and not banks["bank_2"]["defaulted"]
    assert banks["bank_0"]["defaulted"] and banks["bank_1"]["defaulted"]
    assert end["active_banks"] == 1 and end["defaults"] == 2
    assert terms == {"bank_0": True, "bank_1": True, "bank_2": False}
    assert env.agents == ["bank_2"]
    # limited liability: each loses the equity it had (10 = its initial capital) plus the bankruptcy cost
    assert rewards["bank_0"] == rewards["bank_1"] == pytest.approx(-1.0 - env.config.reward.default_penalty)


def test_eisenberg_noe_clearing_spares_b():
    env, _, events, _, terms = _run({"model": "eisenberg_noe"})
    assert [e["data"]["bank"] for e in events if e["type"] == "default"] == ["bank_0"]
    (cascade,) = [e["data"] for e in events if e["type"] == "cascade"]
    assert cascade["losses"] == pytest.approx(30 - 85 * 30 / 90)
    (end,) = [e["data"] for e in events if e["type"] == "step_end"]
    banks = {b["id"]: b for b in end["banks"]}
    assert banks["bank_1"]["equity"] == pytest.approx(10 - (30 - 85 * 30 / 90))
    assert terms == {"bank_0": True, "bank_1": False, "bank_2": False}


def test_defaulted_bank_never_acts_again():
    env, *_ = _run({"model": "fixed_recovery", "recovery": 0.0})
    with pytest.raises(KeyError):
        env.step({"nobody": 1})
    # actions sent for the dead banks are ignored: they are not agents any more
    _, _, _, _, infos = env.step({"bank_0": 0, "bank_1": 2, "bank_2": HOLD})
    assert set(infos) == {"bank_2"}
    assert env.system.last_outcome.executed[:2].tolist() == [-1, -1]
    assert not any(e["type"] == "transaction" and e["data"]["bank"] in ("bank_0", "bank_1") for e in env.drain_events())

"""The runner: every command in every state, invariants after each, a random state machine, --verify."""

import math

import numpy as np
import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from interbank.config import resolve_env_config
from interbank.interactive.runner import CommandError, Runner
from interbank.interactive.verify import verify_events
from interbank.policies import make_policy

CFG = resolve_env_config("configs/stress.yaml", n_banks=10, max_steps=25)


def _runner(**kw):
    return Runner(kw.pop("cfg", CFG), make_policy(kw.pop("policy", "heuristic"), 1), kw.pop("seed", 3))


def _check_invariants(runner):
    bs = runner.env.system.balance_sheet()
    assets = bs["cash"] + bs["loans_out"] + bs["investments"].sum(axis=1)
    np.testing.assert_allclose(assets - bs["borrowings"] - bs["deposits"], bs["equity"], rtol=1e-9, atol=1e-9 * max(1, assets.max()))
    assert math.isclose(bs["loans_out"].sum(), bs["borrowings"].sum(), rel_tol=1e-9, abs_tol=1e-9)


ALL = [("pause", None, None), ("resume", None, None), ("stop", None, None),
       ("delete_bank", "bank_1", None), ("add_capital", "bank_2", 10.0)]
ALLOWED = {
    "ready": {"pause", "stop"},
    "running": {"pause", "stop"},
    "paused": {"resume", "stop", "delete_bank", "add_capital"},
    "stopped": set(),
    "complete": set(),
}


def _in_state(state):
    r = _runner()
    if state in ("running", "paused", "stopped"):
        r.step()
    if state == "paused":
        r.command("pause")
    if state == "stopped":
        r.command("stop")
    if state == "complete":
        while not r.finished:
            r.step()
    assert r.state == state
    return r


@pytest.mark.parametrize("state", list(ALLOWED))
@pytest.mark.parametrize("command", ALL, ids=[c[0] for c in ALL])
def test_every_command_in_every_state(state, command):
    r = _in_state(state)
    before = (r.state, r.env.system.t, r.env.system.cash.copy(), r.env.system.active.copy(), len(r.take_events()))
    name, bank, amount = command
    if name in ALLOWED[state]:
        event = r.command(name, bank, amount)
        assert event["type"] == {"pause": "paused", "resume": "resumed", "stop": "stopped",
                                 "delete_bank": "bank_deleted", "add_capital": "capital_added"}[name]
        assert event["step"] == before[1]
    else:
        with pytest.raises(CommandError) as err:
            r.command(name, bank, amount)
        assert err.value.status == 409
        # refused: nothing changed
        assert r.state == before[0] and r.env.system.t == before[1]
        np.testing.assert_array_equal(r.env.system.cash, before[2])
        np.testing.assert_array_equal(r.env.system.active, before[3])
        assert r.take_events() == []
    _check_invariants(r)


def test_pause_takes_effect_before_next_step():
    r = _runner()
    r.step()
    r.command("pause")
    t = r.env.system.t
    assert r.step() is False and r.env.system.t == t
    r.command("resume")
    assert r.step() is True and r.env.system.t == t + 1


@pytest.mark.parametrize("amount, status", [(-1, 422), (0, 422), (float("nan"), 422), (float("inf"), 422), ("10", 422), (True, 422), (1e16, 422)])
def test_bad_amounts_are_refused_and_change_nothing(amount, status):
    r = _in_state("paused")
    cash = r.env.system.cash.copy()
    with pytest.raises(CommandError) as err:
        r.command("add_capital", "bank_2", amount)
    assert err.value.status == status
    np.testing.assert_array_equal(r.env.system.cash, cash)


def test_unknown_and_gone_banks():
    r = _in_state("paused")
    with pytest.raises(CommandError) as err:
        r.command("add_capital", "bank_77", 5.0)
    assert err.value.status == 404
    r.command("delete_bank", "bank_1")
    for name, amount in (("delete_bank", None), ("add_capital", 5.0)):
        with pytest.raises(CommandError) as err:
            r.command(name, "bank_1", amount)
        assert err.value.status == 409 and "gone" in err.value.message
    with pytest.raises(CommandError) as err:
        r.command("explode")
    assert err.value.status == 422


def test_add_capital_raises_cash_equity_and_total_capital_by_exactly_the_amount():
    r = _in_state("paused")
    s = r.env.system
    eq, cash, total = s.equity()[2], s.cash[2], s.total_capital()
    event = r.command("add_capital", "bank_2", 123.5)
    assert s.cash[2] == pytest.approx(cash + 123.5, rel=1e-12)
    assert s.equity()[2] == pytest.approx(eq + 123.5, rel=1e-12)
    assert s.total_capital() == pytest.approx(total + 123.5, rel=1e-12)
    assert event["data"]["equity"] == pytest.approx(eq + 123.5)


def test_deleted_bank_leaves_agents_and_never_acts_again():
    r = _in_state("paused")
    r.command("delete_bank", "bank_1")
    assert "bank_1" not in r.env.agents
    r.take_events()
    r.command("resume")
    while not r.finished:
        r.step()
    events = r.take_events()
    assert not any(e["type"] == "transaction" and e["data"]["bank"] == "bank_1" for e in events)
    last = [e for e in events if e["type"] == "step_end"][-1]["data"]
    (b1,) = [b for b in last["banks"] if b["id"] == "bank_1"]
    assert b1["deleted"] and not b1["defaulted"]


def test_verify_re_creates_a_run_with_interventions(tmp_path):
    r = _runner()
    for _ in range(4):
        r.step()
    r.command("pause")
    r.command("add_capital", "bank_3", 250.0)
    r.command("delete_bank", "bank_5")
    r.command("resume")
    for _ in range(3):
        r.step()
    r.command("pause")
    r.command("resume")
    r.step()
    r.command("stop")
    events = r.take_events()
    ok, message = verify_events(events)
    assert ok, message
    tampered = [dict(e) for e in events]
    i = next(k for k, e in enumerate(tampered) if e["type"] == "capital_added")
    tampered[i] = {**tampered[i], "data": {**tampered[i]["data"], "amount": 260.0}}
    ok, message = verify_events(tampered)
    assert not ok and f"seq {tampered[i]['seq']}" in message and "cash" in message


class RunnerMachine(RuleBasedStateMachine):
    """Random command sequences: allowed ones apply, refused ones change nothing, invariants hold."""

    def __init__(self):
        super().__init__()
        self.runner = _runner(cfg=resolve_env_config("configs/stress.yaml", n_banks=6, max_steps=12))
        self.added = 0.0

    @rule()
    def step(self):
        state, t = self.runner.state, self.runner.env.system.t
        stepped = self.runner.step()
        assert stepped == (state in ("ready", "running"))
        assert self.runner.env.system.t == t + stepped

    @rule(name=st.sampled_from(["pause", "resume", "stop"]))
    def simple(self, name):
        self._try(name, None, None)

    @rule(bank=st.integers(0, 7), amount=st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-5, 10**6)))
    def add_capital(self, bank, amount):
        self._try("add_capital", f"bank_{bank}", amount)

    @rule(bank=st.integers(0, 7))
    def delete(self, bank):
        self._try("delete_bank", f"bank_{bank}", None)

    def _try(self, name, bank, amount):
        r = self.runner
        before = (r.state, r.env.system.cash.copy(), r.env.system.active.copy(), r.env.system.total_capital())
        try:
            event = r.command(name, bank, amount)
        except CommandError:
            assert r.state == before[0]
            np.testing.assert_array_equal(r.env.system.cash, before[1])
            np.testing.assert_array_equal(r.env.system.active, before[2])
            return
        if name == "add_capital":
            assert r.env.system.total_capital() == pytest.approx(before[3] + float(amount), rel=1e-9)
            assert event["data"]["amount"] == float(amount)

    @invariant()
    def accounting(self):
        _check_invariants(self.runner)

    @invariant()
    def seq_is_contiguous(self):
        events = self.runner._events + self.runner.env.events
        assert [e["seq"] for e in events] == list(range(len(events)))


RunnerMachine.TestCase.settings = settings(max_examples=25, stateful_step_count=25, deadline=None)
TestRunnerMachine = RunnerMachine.TestCase

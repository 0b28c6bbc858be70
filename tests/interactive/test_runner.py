"""The runner: every command in every state, invariants after each, a random state machine, --verify."""

import math

import numpy as np
import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from interbank.config import EnvConfig, resolve_env_config
from interbank.interactive.runner import CommandError, Runner, is_command_event
from interbank.interactive.verify import verify_events
from interbank.policies import make_policy
from interbank.sim.actions import INVEST, LEND
from interbank.sim.events import dumps

CFG = resolve_env_config("configs/stress.yaml", n_banks=10, max_steps=25)


def _runner(**kw):
    return Runner(kw.pop("cfg", CFG), make_policy(kw.pop("policy", "heuristic"), 1), kw.pop("seed", 3))


def _check_invariants(runner):
    bs = runner.env.system.balance_sheet()
    assets = bs["cash"] + bs["book"] + bs["loans_out"] + bs["investments"].sum(axis=1)
    liabilities = bs["borrowings"] + bs["deposits"] + bs["central_bank"]
    np.testing.assert_allclose(assets - liabilities, bs["equity"], rtol=1e-9, atol=1e-9 * max(1, assets.max()))
    assert math.isclose(bs["loans_out"].sum(), bs["borrowings"].sum(), rel_tol=1e-9, abs_tol=1e-9)


# (label, name, bank, amount, operation)
ALL = [("pause", "pause", None, None, None), ("resume", "resume", None, None, None), ("stop", "stop", None, None, None),
       ("delete_bank", "delete_bank", "bank_1", None, None), ("add_capital", "add_capital", "bank_2", 10.0, None),
       ("cb_inject", "central_bank", "bank_2", 40.0, "inject"),
       ("cb_set_policy_rate", "central_bank", None, 0.045, "set_policy_rate"),
       ("cb_set_capital_requirement", "central_bank", None, 0.12, "set_capital_requirement")]
CENTRAL_BANK = {"cb_inject", "cb_set_policy_rate", "cb_set_capital_requirement"}
ALLOWED = {
    "ready": {"pause", "stop"},
    "running": {"pause", "stop"},
    "paused": {"resume", "stop", "delete_bank", "add_capital", *CENTRAL_BANK},
    "stopped": set(),
    "complete": set(),
}


def _snapshot(r):
    """Everything a refused command must leave as it was."""
    s = r.env.system
    return {"state": r.state, "t": s.t, "cash": s.cash.copy(), "cb_loans": s.cb_loans.copy(), "active": s.active.copy(),
            "equity": s.equity().copy(), "mask": r.env.action_mask_array().copy(),
            "rates": (s.deposit_facility_rate, s.policy_rate, s.lending_rate), "min_capital_ratio": s.min_capital_ratio}


def _assert_unchanged(r, before):
    after = _snapshot(r)
    assert after.keys() == before.keys()
    for key, value in before.items():
        if isinstance(value, np.ndarray):
            np.testing.assert_array_equal(after[key], value, err_msg=key)
        else:
            assert after[key] == value, key
    assert r.take_events() == []


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
    r.take_events()
    before = _snapshot(r)
    label, name, bank, amount, operation = command
    if label in ALLOWED[state]:
        event = r.command(name, bank, amount, operation)
        assert event["type"] == {"pause": "paused", "resume": "resumed", "stop": "stopped", "delete_bank": "bank_deleted",
                                 "add_capital": "capital_added", "central_bank": "central_bank"}[name]
        assert event["step"] == before["t"]
        assert is_command_event(event)
        if name == "central_bank":
            _check_central_bank_effect(r, before, event, bank, amount, operation)
    else:
        with pytest.raises(CommandError) as err:
            r.command(name, bank, amount, operation)
        assert err.value.status == 409
        _assert_unchanged(r, before)  # refused: nothing changed
    _check_invariants(r)


def _check_central_bank_effect(r, before, event, bank, amount, operation):
    s, d = r.env.system, event["data"]
    assert d["operation"] == operation and r.state == "paused" and s.t == before["t"]
    if operation == "inject":
        i = r.env.agent_index[bank]
        # a loan, not capital: cash and central bank loans rise by the amount, equity does not move
        assert s.cash[i] == pytest.approx(before["cash"][i] + amount, rel=1e-12)
        assert s.cb_loans[i] == pytest.approx(before["cb_loans"][i] + amount, rel=1e-12)
        np.testing.assert_allclose(s.equity(), before["equity"], rtol=1e-12)
        others = np.arange(s.n) != i
        np.testing.assert_array_equal(s.cash[others], before["cash"][others])
        assert d["bank"] == bank and d["amount"] == amount and d["rate"] == s.lending_rate and d["value"] is None
    else:
        np.testing.assert_array_equal(s.cash, before["cash"])
        np.testing.assert_array_equal(s.cb_loans, before["cb_loans"])
        assert d["bank"] is None and d["value"] == amount
        if operation == "set_policy_rate":
            assert s.policy_rate == amount and d["rate"] == amount
            # the corridor moves with the policy rate, keeping its width
            assert s.lending_rate - s.policy_rate == pytest.approx(before["rates"][2] - before["rates"][1])
            assert s.min_capital_ratio == before["min_capital_ratio"]
        else:
            assert s.min_capital_ratio == amount and (s.deposit_facility_rate, s.policy_rate, s.lending_rate) == before["rates"]


def test_status_is_safe_to_read_while_another_thread_steps():
    """The server reads status from its event loop while a worker thread steps the runner."""
    import threading

    # big enough that the funding market grows its ledger mid-step (reading it then used to fail)
    r = _runner(cfg=resolve_env_config(EnvConfig(), n_banks=300, max_steps=120), seed=6)
    seen, errors = [], []

    def drive():
        while not r.finished:
            r.step()

    worker = threading.Thread(target=drive)
    worker.start()
    while worker.is_alive() or not seen:
        try:
            st = r.status()
            seen.append((st.step, st.state))
        except Exception as err:  # noqa: BLE001 - any error here is the bug
            errors.append(repr(err))
    worker.join()
    assert errors == []
    steps = [t for t, _ in seen]
    assert steps == sorted(steps) and r.status().step == 120 and r.status().state == "complete"


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


BAD_CENTRAL_BANK = [
    # (bank, amount, operation, status)
    ("bank_2", -1, "inject", 422), ("bank_2", 0, "inject", 422), ("bank_2", float("nan"), "inject", 422),
    ("bank_2", float("inf"), "inject", 422), ("bank_2", "10", "inject", 422), ("bank_2", True, "inject", 422),
    ("bank_2", 1e16, "inject", 422), ("bank_2", None, "inject", 422), (None, 10.0, "inject", 422),
    ("bank_77", 10.0, "inject", 404),
    (None, 1.5, "set_policy_rate", 422), (None, -0.01, "set_policy_rate", 422), (None, float("nan"), "set_policy_rate", 422),
    (None, True, "set_policy_rate", 422), (None, "0.03", "set_policy_rate", 422), (None, None, "set_policy_rate", 422),
    ("bank_2", 0.03, "set_policy_rate", 422), (None, 10**400, "set_policy_rate", 422),
    (None, 2.0, "set_capital_requirement", 422), (None, float("-inf"), "set_capital_requirement", 422),
    (None, 0.1, None, 422), (None, 0.1, "quantitative_easing", 422), ("bank_2", 5.0, "lending_facility", 422),
]


@pytest.mark.parametrize("bank, amount, operation, status", BAD_CENTRAL_BANK)
def test_bad_central_bank_commands_are_refused_and_change_nothing(bank, amount, operation, status):
    r = _in_state("paused")
    r.take_events()
    before = _snapshot(r)
    with pytest.raises(CommandError) as err:
        r.command("central_bank", bank, amount, operation)
    assert err.value.status == status and err.value.message and "\n" not in err.value.message
    _assert_unchanged(r, before)


@pytest.mark.parametrize("state", ["paused", "running"])
def test_every_command_refuses_the_fields_it_does_not_take(state):
    from interbank.interactive.runner import COMMAND_BY_NAME, COMMANDS

    given = {"bank": "bank_2", "amount": 5.0, "operation": "inject"}
    r = _in_state(state)
    r.take_events()
    before = _snapshot(r)
    for name in COMMANDS:
        for key in (k for k in given if k not in COMMAND_BY_NAME[name].takes):
            with pytest.raises(CommandError) as err:
                r.command(name, **{"bank": None, "amount": None, "operation": None, key: given[key]})
            assert err.value.status == 422 and err.value.message.startswith(f"{name} takes no {key} ({key} is for ")
    _assert_unchanged(r, before)
    assert r.state == state


def test_central_bank_messages_come_from_the_env():
    r = _in_state("paused")
    with pytest.raises(CommandError) as err:
        r.command("central_bank", None, 1.5, "set_policy_rate")
    assert err.value.message == "set_policy_rate needs a value in [0, 1], got 1.5"
    with pytest.raises(CommandError) as err:
        r.command("central_bank", "bank_77", 5.0, "inject")
    assert err.value.message == "unknown bank 'bank_77'"


def test_central_bank_inject_into_a_gone_bank_is_409_and_operation_only_goes_with_central_bank():
    r = _in_state("paused")
    r.command("delete_bank", "bank_1")
    r.take_events()
    before = _snapshot(r)
    with pytest.raises(CommandError) as err:
        r.command("central_bank", "bank_1", 5.0, "inject")
    assert err.value.status == 409 and "gone" in err.value.message
    for name, bank, amount in (("add_capital", "bank_2", 5.0), ("pause", None, None), ("delete_bank", "bank_2", None)):
        with pytest.raises(CommandError) as err:
            r.command(name, bank, amount, "inject")
        assert err.value.status == 422 and "operation" in err.value.message
    _assert_unchanged(r, before)


def test_central_bank_settings_steer_the_next_steps():
    def run(intervene):
        r = _runner(policy="random")
        r.step()
        r.command("pause")
        if intervene:
            assert r.env.action_mask_array()[:, [LEND, INVEST]].any()
            r.command("central_bank", None, 1.0, "set_capital_requirement")
            # nobody meets a 100% capital ratio: LEND and INVEST are masked for every bank at once
            assert not r.env.action_mask_array()[:, [LEND, INVEST]].any()
            r.command("central_bank", None, 0.05, "set_policy_rate")
        r.command("resume")
        r.take_events()
        for _ in range(3):
            r.step()
        return r.take_events()

    def lend_or_invest(events):
        return [e for e in events if e["type"] == "transaction" and e["data"]["action"] in ("LEND", "INVEST")]

    assert lend_or_invest(run(False))  # the same run without the intervention lends and invests
    events = run(True)
    assert not lend_or_invest(events)
    for end in (e["data"] for e in events if e["type"] == "step_end"):
        assert end["totals"]["policy_rate"] == 0.05 and end["totals"]["min_capital_ratio"] == 1.0


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
    assert not r.env.system.active[r.env.agent_index["bank_1"]]  # out of the network at once
    r.take_events()
    r.command("resume")
    r.step()
    assert "bank_1" not in r.env.agents  # and out of agents after the step that terminates it (PettingZoo)
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


def test_verify_re_creates_a_run_with_central_bank_interventions():
    r = _runner(cfg=resolve_env_config("configs/stress.yaml", n_banks=12, max_steps=30))
    for _ in range(3):
        r.step()
    r.command("pause")
    r.command("central_bank", "bank_3", 500.0, "inject")
    r.command("central_bank", None, 0.06, "set_policy_rate")
    r.command("central_bank", None, 0.02, "set_capital_requirement")
    r.command("resume")
    for _ in range(4):
        r.step()
    r.command("pause")
    r.command("central_bank", "bank_7", 120.0, "inject")
    r.command("add_capital", "bank_7", 30.0)
    r.command("central_bank", None, 0.0, "set_policy_rate")
    r.command("resume")
    for _ in range(3):
        r.step()
    r.command("stop")
    events = r.take_events()
    ops = [e["data"]["operation"] for e in events if e["type"] == "central_bank"]
    assert ops.count("inject") == 2 and ops.count("set_policy_rate") == 2 and ops.count("set_capital_requirement") == 1
    # the simulation's own central bank events are in the stream too, and are not commands
    own = [e for e in events if e["type"] == "central_bank" and e["data"]["operation"] in ("lending_facility", "repayment")]
    assert own and not any(is_command_event(e) for e in own)
    ok, message = verify_events(events)
    assert ok, message
    assert message == f"{len(events)} events re-simulated identically"

    # a recording whose policy rate was edited no longer re-creates itself, and verify says where
    tampered = [dict(e) for e in events]
    i = next(k for k, e in enumerate(tampered) if e["type"] == "central_bank" and e["data"]["operation"] == "set_policy_rate")
    tampered[i] = {**tampered[i], "data": {**tampered[i]["data"], "value": 0.07}}
    ok, message = verify_events(tampered)
    assert not ok and f"seq {tampered[i]['seq']}" in message and "rate" in message, message
    # and one without the intervention diverges too
    dropped = [e for k, e in enumerate(events) if k != i]
    ok, message = verify_events(dropped)
    assert not ok, message


class RunnerMachine(RuleBasedStateMachine):
    """Random command sequences: allowed ones apply, refused ones change nothing, invariants hold."""

    def __init__(self):
        super().__init__()
        self.runner = _runner(cfg=resolve_env_config("configs/stress.yaml", n_banks=6, max_steps=12))
        self.added = 0.0
        self.seen = []

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

    @rule(bank=st.one_of(st.none(), st.integers(0, 7)),
          amount=st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-5, 10**6), st.none()),
          operation=st.sampled_from(["inject", "set_policy_rate", "set_capital_requirement", "repayment"]))
    def central_bank(self, bank, amount, operation):
        self._try("central_bank", None if bank is None else f"bank_{bank}", amount, operation)

    def _try(self, name, bank, amount, operation=None):
        r = self.runner
        s = r.env.system
        before = (r.state, s.cash.copy(), s.active.copy(), s.total_capital(), s.cb_loans.copy(),
                  s.policy_rate, s.min_capital_ratio)
        try:
            event = r.command(name, bank, amount, operation)
        except CommandError:
            assert r.state == before[0]
            np.testing.assert_array_equal(s.cash, before[1])
            np.testing.assert_array_equal(s.active, before[2])
            np.testing.assert_array_equal(s.cb_loans, before[4])
            assert (s.policy_rate, s.min_capital_ratio) == before[5:]
            return
        if name == "add_capital":
            assert s.total_capital() == pytest.approx(before[3] + float(amount), rel=1e-9)
            assert event["data"]["amount"] == float(amount)
        if name == "central_bank":
            assert before[0] == "paused" and operation != "repayment"
            if operation == "inject":
                assert 0 < amount <= 1e15
                assert s.total_capital() == pytest.approx(before[3], rel=1e-9)
                assert s.cb_loans.sum() == pytest.approx(before[4].sum() + float(amount), rel=1e-9)
            else:
                assert 0 <= amount <= 1 and event["data"]["value"] == float(amount)

    @invariant()
    def accounting(self):
        _check_invariants(self.runner)

    @invariant()
    def seq_is_contiguous(self):
        self.seen.extend(self.runner.take_events())
        assert [e["seq"] for e in self.seen] == list(range(len(self.seen)))


def test_the_runner_keeps_no_history_of_handed_out_events():  # issue 13, item 1
    import tracemalloc

    r = _runner(cfg=resolve_env_config(n_banks=100, max_steps=400), policy="hold")
    handed_out = 0

    def run(steps):
        nonlocal handed_out
        for _ in range(steps):
            r.step()
            handed_out += sum(len(dumps(e)) for e in r.take_events())

    run(20)
    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        run(200)
        after, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert handed_out > 5_000_000  # 200 steps of a 100-bank stream went through ...
    assert after - before < 1_000_000  # ... and the runner kept (next to) nothing of them


RunnerMachine.TestCase.settings = settings(max_examples=25, stateful_step_count=25, deadline=None)
TestRunnerMachine = RunnerMachine.TestCase


# ------------------------------------------------------------------ branches, failed banks, exposures

CASCADE = {  # a hub loses 6x its capital at step 3 and takes others with it (seed 2)
    "n_banks": 30, "max_steps": 12,
    "network": {"type": "core_periphery", "core_fraction": 0.2, "avg_degree": 6.0},
    "balance_sheet": {"interbank_share": 0.5},
    "shocks": {"scheduled": [{"step": 3, "type": "capital_loss", "bank": 0, "size": 6.0},
                             {"step": 3, "type": "capital_loss", "bank": 1, "size": 6.0}]},
}


def _run_out(r):
    while not r.finished:
        r.step()
    return r.take_events()


def _branch_stream(child, parent_events):
    """A branch's full recording: its init, the parent's events up to the fork, then its own."""
    fork = child.init_event["data"]["config"]["branch"]
    return [child.init_event] + [e for e in parent_events if 0 < e["seq"] <= fork["seq"]]


def test_a_branch_continues_like_its_parent_and_only_the_intervention_differs():
    parent = _runner()
    for _ in range(6):
        parent.step()
    parent.command("pause")
    before = parent.take_events()
    plain, treated = parent.branch("p0"), parent.branch("p0")
    assert plain.init_event["data"]["config"]["branch"] == {"parent": "p0", "step": 6, "seq": before[-1]["seq"]}
    assert parent.init_event["data"]["config"].get("branch") is None
    treated.command("add_capital", "bank_2", 500.0)
    for r in (parent, plain, treated):
        r.command("resume")
    after = {name: _run_out(r) for name, r in (("parent", parent), ("plain", plain), ("treated", treated))}
    # without an intervention a branch is the parent, byte for byte and seq for seq
    assert [dumps(e) for e in after["plain"]] == [dumps(e) for e in after["parent"]]
    assert after["treated"][0]["type"] == "capital_added"
    assert [dumps(e) for e in after["treated"]] != [dumps(e) for e in after["parent"]]
    # the branching left the parent as if it had never happened, and each branch re-simulates itself
    assert verify_events(before + after["parent"])[0]
    for name in ("plain", "treated"):
        ok, message = verify_events(_branch_stream(plain if name == "plain" else treated, before) + after[name])
        assert ok, message


def test_only_a_paused_runner_branches():
    r = _runner()
    r.step()
    with pytest.raises(CommandError) as err:
        r.branch("x")
    assert err.value.status == 409 and "paused" in err.value.message


def test_a_failed_bank_can_be_deleted_once_and_nothing_else_moves():
    r = _runner(cfg=resolve_env_config(EnvConfig(), **CASCADE), seed=2)
    while not r.status().defaults:
        r.step()
    r.command("pause")
    events = r.take_events()
    failed = next(e["data"]["bank"] for e in events if e["type"] == "default")
    before = r.env.system.snapshots()
    capital = r.status().total_capital
    event = r.command("delete_bank", failed)
    assert event["type"] == "bank_deleted" and event["data"]["settlement"] == {"creditor_losses": 0.0, "fire_sale_volume": 0.0}
    after = r.env.system.snapshots()
    i = r.env.agent_index[failed]
    assert after[i]["deleted"] and after[i]["defaulted"]
    assert [{k: v for k, v in b.items() if k != "deleted"} for b in after] == [{k: v for k, v in b.items() if k != "deleted"} for b in before]
    assert r.status().total_capital == capital and r.status().deleted == 1
    for name, amount in (("delete_bank", None), ("add_capital", 5.0)):
        with pytest.raises(CommandError) as err:
            r.command(name, failed, amount)
        assert err.value.status == 409 and "deleted" in err.value.message
    r.command("resume")
    ok, message = verify_events(events + r.take_events() + _run_out(r))
    assert ok, message


def test_exposures_are_the_ledger_by_pair_largest_first_and_kept_per_step():
    r = _runner()
    for _ in range(3):
        r.step()
    x = r.exposures()
    led = r.env.system.ledger
    assert x["step"] == 3 and x["count"] == len(set(zip(led.lender.tolist(), led.borrower.tolist())))
    assert x["amount"] == sorted(x["amount"], reverse=True) and x["total"] == pytest.approx(led.amount.sum())
    lender, borrower = x["lender"][0], x["borrower"][0]
    pair = (led.lender == lender) & (led.borrower == borrower)
    assert x["amount"][0] == pytest.approx(led.amount[pair].sum())  # directed: lender -> borrower
    assert r.exposures(step=1)["step"] == 1 and len(r.exposures(limit=2)["amount"]) == 2


def test_a_finished_runner_keeps_the_exposures_just_before_each_default():
    """The page focusing on a default asks for the step before it, also after the run ended and
    gave its simulation back: those snapshots outlive release(); the others do not."""
    shock = [{"step": 3, "type": "capital_loss", "bank": b, "size": 6.0} for b in (0, 1)]
    cfg = resolve_env_config(None, n_banks=30, max_steps=8, network={"type": "core_periphery", "core_fraction": 0.2,
                             "avg_degree": 6.0}, balance_sheet={"interbank_share": 0.5}, shocks={"scheduled": shock})
    r = Runner(cfg, make_policy("heuristic", 1), 2)
    defaulted, default_steps = 0, []
    while r.step():
        now = int(r.env.system.defaulted.sum())
        if now > defaulted:
            default_steps.append(int(r.env.system.t))
        defaulted = now
    assert default_steps, "the cascade scenario has defaults"
    last = r.exposures()["step"]
    r.release()
    assert r.env is None and r.exposures()["step"] == last
    for d in default_steps:
        before = r.exposures(step=d - 1)
        assert before is not None and before["step"] == d - 1
    kept = {d - 1 for d in default_steps} | {last}
    assert len(r._exposures) == len(kept)


def test_verify_says_when_a_recording_stops_before_its_episode_ends():
    r = _runner()
    for _ in range(2):
        r.step()
    events = r.take_events()  # an interrupted session's recording: a prefix, which re-creates itself
    ok, message = verify_events(events)
    assert ok and message == f"{len(events)} events re-simulated identically (the recording stops at step 2, before its episode ends)"
    r.command("stop")
    ok, message = verify_events(events + r.take_events())
    assert ok and message.endswith("re-simulated identically")


def test_a_recording_made_before_interventions_carried_a_snapshot_still_verifies():
    """Streams recorded before ``capital_added`` and a user's ``inject`` gained ``snapshot`` verify
    (and so re-create and fork); a snapshot that differs from the replay's does not."""
    r = _runner(cfg=resolve_env_config("configs/stress.yaml", n_banks=12, max_steps=30))
    for _ in range(2):
        r.step()
    r.command("pause")
    r.command("add_capital", "bank_3", 250.0)
    r.command("central_bank", "bank_4", 100.0, "inject")
    r.command("delete_bank", "bank_5")
    r.command("resume")
    r.step()
    events = r.take_events()
    added = ("snapshot", "snapshots")
    old = [{**e, "data": {k: v for k, v in e["data"].items() if k not in added}} for e in events]
    assert sum(any(k in e["data"] for k in added) for e in events) == 3
    assert not any(any(k in e["data"] for k in added) for e in old)
    ok, message = verify_events(old)
    assert ok, message
    i = next(k for k, e in enumerate(events) if e["type"] == "capital_added")
    wrong = [dict(e) for e in events]
    wrong[i] = {**wrong[i], "data": {**wrong[i]["data"], "snapshot": {**wrong[i]["data"]["snapshot"], "cash": 0.0}}}
    ok, message = verify_events(wrong)
    assert not ok and f"seq {wrong[i]['seq']}" in message

"""The interactive runner with the central bank agent on: its decisions are events from the
agent (re-created by stepping), a person's commands stay commands, and --verify re-creates both."""

from interbank.config import resolve_env_config
from interbank.interactive.runner import Runner, is_command_event
from interbank.interactive.verify import verify_events
from interbank.policies import make_policy

CFG = resolve_env_config("configs/stress.yaml", n_banks=12, max_steps=30, **{
    "central_bank.agent": True, "central_bank.rule": "bagehot", "central_bank.every": 2,
    "central_bank.rule_params": {"stress": 0.3}})


def test_agent_decisions_and_user_commands_both_replay_identically():
    r = Runner(CFG, make_policy("heuristic", 1), 3)
    for _ in range(4):
        r.step()
    r.command("pause")
    r.command("central_bank", None, 0.05, "set_policy_rate")
    r.command("central_bank", "bank_2", 80.0, "inject")
    r.command("resume")
    for _ in range(6):
        r.step()
    r.command("stop")
    events = r.take_events()
    decisions = [e for e in events if e["type"] == "central_bank" and e["data"].get("source") == "agent"]
    typed = [e for e in events if e["type"] == "central_bank" and e["data"].get("source") == "user"]
    assert decisions and not any(is_command_event(e) for e in decisions)
    # decided on the observation after steps 0, 2, 4 ... (every 2), effective at the end of the next step
    assert {e["step"] for e in decisions} == {1, 3, 5, 7, 9}
    assert len(typed) == 2 and all(is_command_event(e) for e in typed)
    ok, message = verify_events(events)
    assert ok, message

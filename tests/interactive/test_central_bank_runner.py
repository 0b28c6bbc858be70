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


def _agent(events):
    return [e for e in events if e["type"] == "central_bank" and e["data"].get("source") == "agent"]


def test_a_person_s_command_while_paused_stands_for_that_step_and_the_agent_decides_after():
    cfg = resolve_env_config(CFG, **{"central_bank.rule": "taylor", "central_bank.every": 1,
                                     "central_bank.rule_params": {"funding": 0.08, "neutral": 0.06}})
    r = Runner(cfg, make_policy("heuristic", 1), 3)
    for _ in range(3):
        r.step()
    r.command("pause")
    r.command("central_bank", None, 0.01, "set_policy_rate")
    r.command("resume")
    r.step()
    r.step()
    r.command("stop")
    events = r.take_events()
    by_step = {e["step"]: e["data"] for e in _agent(events)}
    # the agent decided at each step before; in the step after the command it held, marked overridden
    assert all(by_step[s].get("overridden") is None for s in (1, 2, 3, 5))
    assert by_step[4]["decision"] == "hold" and by_step[4]["overridden"] is True
    ends = {e["step"]: e["data"]["totals"]["policy_rate"] for e in events if e["type"] == "step_end"}
    # a decision takes effect at the end of its step: the person's rate stood through step 5 too
    assert ends[4] == ends[5] == 0.01
    assert by_step[5]["decision"] == "rate_up" and by_step[5]["value"] > 0.01  # then the rule (neutral 6%) moved it
    # what it saw, by feature name, on every decision
    from interbank.envs.central_bank_observation import CB_FEATURE_NAMES
    assert all(list(d["observation"]) == list(CB_FEATURE_NAMES) for d in by_step.values())
    ok, message = verify_events(events)
    assert ok, message


def test_a_learned_central_bank_plays_in_the_runner_and_replays_from_its_checkpoint(tmp_path):
    from interbank.policies.central_bank_setup import with_central_bank
    from interbank.policies.checkpoint import load_checkpoint
    from tests.interactive.two_policy import write_two_policy_run

    run = write_two_policy_run(tmp_path / "run", move="rate_up")
    banks, _, folder = load_checkpoint(run)  # a two-policy run folder gives its banks
    setup = with_central_bank(resolve_env_config("configs/stress.yaml", n_banks=8, max_steps=12), None, run)
    assert setup.config.central_bank.agent and setup.info["central_bank"]["policy"] == "learned"
    info = {"checkpoint_path": str(folder), **setup.info}
    r = Runner(setup.config, banks, 5, info, central_bank_policy=setup.policy)
    while not r.finished:
        r.step()
    events = r.take_events()
    decisions = [e["data"]["decision"] for e in _agent(events)]
    assert decisions and set(decisions) <= {"rate_up", "hold"} and "rate_up" in decisions
    ok, message = verify_events(events)
    assert ok, message

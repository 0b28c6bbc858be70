"""`interbank serve` with a central bank: chosen at start from the served vocabulary (a rule, or the
learned one of a two-policy run folder), validated, and re-created by replay --verify."""

import httpx
import pytest

from interbank.interactive.verify import verify_events
from tests.deadlines import HANG_S
from tests.interactive.conftest import scenarios_folder_with, serving
from tests.interactive.sse_client import read_events
from tests.interactive.test_server import wait_for
from tests.interactive.two_policy import write_two_policy_run


@pytest.fixture(scope="module")
def cb_server(tmp_path_factory):
    from interbank.envs.observation import N_FEATURES
    from tests.policies.test_checkpoint import _write

    ckpts = tmp_path_factory.mktemp("checkpoints")
    _write(ckpts / "tiny", n_features=N_FEATURES)
    write_two_policy_run(ckpts / "both", move="ccyb_up")
    configs = scenarios_folder_with(tmp_path_factory.mktemp("configs"), {"taylor_on": TAYLOR_ON})
    with serving("--checkpoints", str(ckpts), "--configs", str(configs)) as (base, _):
        yield base


# a scenario whose central bank agent is on and plays taylor: central_bank_params alone are for its rule
TAYLOR_ON = """\
env:
  n_banks: 8
  max_steps: 12
  central_bank: {agent: true, rule: taylor, rule_params: {neutral: 0.05}}
"""


def _settled_sessions(base):
    """The sessions list once the earlier tests' sessions have finished and are stored whole (a
    session still finishing changes its own entry between two reads)."""
    def settled():
        listed = httpx.get(base + "/api/interactive/sessions", timeout=HANG_S).json()["sessions"]
        done = all(x["state"] in ("complete", "stopped") and x["stored_seq"] == x["last_seq"] for x in listed)
        return listed if done else None
    return wait_for(settled)


def _start(base, **body):
    return httpx.post(base + "/api/interactive/start", json={"speed": 0, "n_banks": 8, "steps": 12, **body}, timeout=HANG_S)


def _recorded(base, sid):
    events = [{k: v for k, v in e.items() if not k.startswith("_")}
              for e in read_events(f"{base}/api/interactive/stream/{sid}")]
    assert events[-1]["type"] == "complete"
    return events


def _decisions(events):
    return [e["data"] for e in events if e["type"] == "central_bank" and e["data"].get("source") == "agent"]


def test_the_vocabulary_offers_the_rules_and_the_learned_central_bank(cb_server):
    vocab = httpx.get(cb_server + "/api/vocabulary", timeout=HANG_S).json()
    assert [c["name"] for c in vocab["central_banks"]] == ["never", "taylor", "ccyb", "bagehot", "learned"]
    assert [c["needs_checkpoint"] for c in vocab["central_banks"]] == [False] * 4 + [True]
    assert "funding_demand" in [f["name"] for f in vocab["central_bank_features"]]
    listed = httpx.get(cb_server + "/api/checkpoints", timeout=HANG_S).json()
    assert listed["checkpoints"] == ["both", "tiny"] and listed["central_bank"] == ["both"]


def test_a_rule_central_bank_chosen_at_start_decides_and_the_stream_verifies(cb_server, event_validator):
    r = _start(cb_server, central_bank="taylor", central_bank_params={"funding": 0.08, "neutral": 0.06})
    assert r.status_code == 201, r.text
    events = _recorded(cb_server, r.json()["session_id"])
    assert "rate_up" in [d["decision"] for d in _decisions(events)]
    assert events[0]["data"]["config"]["resolved"]["central_bank"]["rule"] == "taylor"
    assert all(event_validator.is_valid(e) for e in events)
    ok, message = verify_events(events)
    assert ok, message


def test_a_two_policy_checkpoint_plays_its_learned_central_bank_and_the_stream_verifies(cb_server, event_validator):
    r = _start(cb_server, checkpoint="both")
    assert r.status_code == 201, r.text
    sid = r.json()["session_id"]
    events = _recorded(cb_server, sid)
    decisions = [d["decision"] for d in _decisions(events)]
    assert "ccyb_up" in decisions and set(decisions) <= {"ccyb_up", "hold"}
    assert events[0]["data"]["config"]["run"]["central_bank"]["policy"] == "learned"
    status = httpx.get(cb_server + "/api/interactive/status", params={"session_id": sid}, timeout=HANG_S).json()
    assert status["settings"]["central_bank"] == "learned"
    assert all(event_validator.is_valid(e) for e in events)
    ok, message = verify_events(events)
    assert ok, message


@pytest.mark.parametrize("body, says", [
    ({"central_bank": "learned"}, "central_bank learned needs a two-policy run folder as the checkpoint"),
    ({"central_bank": "learned", "checkpoint": "tiny"}, "central_bank learned needs a two-policy run folder"),
    ({"central_bank": "volcker"}, "central_bank = 'volcker'"),
    ({"central_bank": "taylor", "central_bank_params": {"speed": 1.0}}, "speed not a parameter of the taylor rule"),
    ({"central_bank": "learned", "checkpoint": "both", "central_bank_params": {"funding": 1.0}}, "for a rule central bank"),
    ({"central_bank_params": {"funding": 1.0}}, "central_bank_params need central_bank"),  # no rule would use them
    ({"checkpoint": "both", "central_bank_params": {"funding": 1.0}}, "for a rule central bank"),
    ({"scenario": "taylor_on", "central_bank_params": {"speed": 1.0}}, "speed not a parameter of the taylor rule"),
])
def test_a_bad_central_bank_choice_is_refused_in_one_line(cb_server, body, says):
    before = _settled_sessions(cb_server)
    r = _start(cb_server, **body)
    assert r.status_code == 422 and says in r.json()["error"] and "\n" not in r.json()["error"]
    # nothing started (the server's resident memory may move by itself: not compared)
    assert httpx.get(cb_server + "/api/interactive/sessions", timeout=HANG_S).json()["sessions"] == before


def test_central_bank_params_alone_go_to_the_scenarios_own_rule(cb_server):
    r = _start(cb_server, scenario="taylor_on", central_bank_params={"funding": 0.08})
    assert r.status_code == 201, r.text
    events = _recorded(cb_server, r.json()["session_id"])
    central_bank = events[0]["data"]["config"]["resolved"]["central_bank"]
    assert central_bank["agent"] and central_bank["rule"] == "taylor"
    assert central_bank["rule_params"] == {"funding": 0.08}  # they replace the scenario's, as with central_bank named
    ok, message = verify_events(events)
    assert ok, message
    # an empty set of parameters applies nothing, whatever the scenario: accepted, as before
    r = _start(cb_server, central_bank_params={})
    assert r.status_code == 201, r.text
    assert not _recorded(cb_server, r.json()["session_id"])[0]["data"]["config"]["resolved"]["central_bank"].get("agent")


@pytest.mark.parametrize("params", ['{"funding": NaN}', '{"funding": -1e9, "credit": Infinity}'])
def test_rule_parameters_that_are_not_finite_or_out_of_range_are_refused_at_start(cb_server, params):
    # JSON with NaN / Infinity (Python's json reads them): refused as the config and the CLI refuse them
    before = _settled_sessions(cb_server)
    body = '{"speed": 0, "n_banks": 8, "steps": 12, "central_bank": "taylor", "central_bank_params": %s}' % params
    r = httpx.post(cb_server + "/api/interactive/start", content=body, headers={"content-type": "application/json"},
                   timeout=HANG_S)
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert "funding = " in error and "must be a finite number in [0, 10]" in error and "\n" not in error
    assert httpx.get(cb_server + "/api/interactive/sessions", timeout=HANG_S).json()["sessions"] == before

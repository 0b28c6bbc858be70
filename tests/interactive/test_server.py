"""The HTTP/SSE server against a real uvicorn process on 127.0.0.1."""

import json
import socket
import threading
import time

import httpx
import pytest

from tests.deadlines import HANG_S
from tests.interactive.sse_client import parse, read_events


def start(base, **body):
    r = httpx.post(base + "/api/interactive/start", json={"speed": 0, **body}, timeout=HANG_S)
    assert r.status_code == 201, r.text
    return r.json()


def control(base, **body):
    return httpx.post(base + "/api/interactive/control", json=body, timeout=HANG_S)


def status(base, sid):
    r = httpx.get(base + "/api/interactive/status", params={"session_id": sid}, timeout=HANG_S)
    assert r.status_code == 200, r.text
    return r.json()


def wait_for(predicate, timeout=HANG_S):
    end = time.time() + timeout
    while time.time() < end:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("timed out")


def test_start_answers_json_and_the_stream_is_valid(server, event_validator):
    s = start(server, n_banks=8, steps=15, seed=1)
    assert s["stream_url"] == f"/api/interactive/stream/{s['session_id']}"
    events = read_events(server + s["stream_url"])
    assert [e["seq"] for e in events] == list(range(len(events)))
    assert events[0]["type"] == "init" and events[-1]["type"] == "complete"
    for e in events:
        assert e["_id"] == str(e["seq"]) and e["_event"] == e["type"]
        payload = {k: v for k, v in e.items() if not k.startswith("_")}
        assert event_validator.is_valid(payload)


def test_start_with_accept_event_stream_streams_the_session(server):
    body = {"n_banks": 6, "steps": 5, "speed": 0}
    with httpx.stream("POST", server + "/api/interactive/start", json=body, headers={"Accept": "text/event-stream"}, timeout=HANG_S) as r:
        assert r.headers["content-type"].startswith("text/event-stream") and r.status_code == 200  # (as documented)
        events = list(parse(r.iter_lines()))
    assert events[0]["type"] == "init" and events[-1]["type"] == "complete"


def test_two_concurrent_sessions_stay_isolated(server):
    a = start(server, n_banks=8, steps=400, seed=1, speed=20)
    b = start(server, n_banks=12, steps=400, seed=2, speed=20)
    assert control(server, session_id=a["session_id"], command="pause").status_code == 200
    step_a = status(server, a["session_id"])["step"]
    step_b = status(server, b["session_id"])["step"]
    wait_for(lambda: status(server, b["session_id"])["step"] > step_b + 3)
    assert status(server, a["session_id"])["step"] == step_a
    assert control(server, session_id=a["session_id"], command="add_capital", bank="bank_10", amount=5).status_code == 404  # A has 8 banks
    assert control(server, session_id=b["session_id"], command="add_capital", bank="bank_10", amount=5).status_code == 409  # B is running
    r = control(server, session_id=b["session_id"], command="central_bank", operation="set_policy_rate", amount=0.05)
    assert r.status_code == 409 and "paused" in r.json()["error"]  # central bank commands too: B is running
    assert control(server, session_id=a["session_id"], command="central_bank", operation="inject", bank="bank_10",
                   amount=5).status_code == 404
    assert status(server, b["session_id"])["state"] == "running"
    for sid in (a["session_id"], b["session_id"]):
        control(server, session_id=sid, command="stop")


def test_three_viewers_receive_the_same_events_in_order(server):
    s = start(server, n_banks=10, steps=40, seed=3, speed=40, paused=True)
    results = [None] * 3

    def view(k):
        results[k] = read_events(server + s["stream_url"])

    threads = [threading.Thread(target=view, args=(k,)) for k in range(3)]
    for t in threads:
        t.start()
    wait_for(lambda: status(server, s["session_id"])["viewers"] == 3)
    control(server, session_id=s["session_id"], command="resume")
    for t in threads:
        t.join(timeout=HANG_S)
    assert results[0] == results[1] == results[2]
    assert [e["seq"] for e in results[0]] == list(range(len(results[0])))
    assert results[0][-1]["type"] == "complete"


def test_last_event_id_resumes_with_exactly_the_missed_events(server):
    s = start(server, n_banks=6, steps=20, seed=4)
    full = read_events(server + s["stream_url"])
    k = len(full) // 2
    rest = read_events(server + s["stream_url"], headers={"Last-Event-ID": str(full[k]["seq"])})
    assert rest == full[k + 1:]
    # a finished session with nothing missed answers 204 so that browsers stop reconnecting
    r = httpx.get(server + s["stream_url"], headers={"Last-Event-ID": str(full[-1]["seq"])})
    assert r.status_code == 204


def test_stop_ends_the_stream(server):
    s = start(server, n_banks=6, steps=1000, seed=5, speed=10)
    got = []

    def view():
        got.extend(read_events(server + s["stream_url"]))

    t = threading.Thread(target=view)
    t.start()
    wait_for(lambda: status(server, s["session_id"])["step"] >= 2)
    assert control(server, session_id=s["session_id"], command="stop").json()["state"] == "stopped"
    t.join(timeout=HANG_S)
    assert not t.is_alive()
    assert [e["type"] for e in got[-2:]] == ["stopped", "complete"]
    assert control(server, session_id=s["session_id"], command="resume").status_code == 409


def test_a_stalled_client_is_dropped_and_the_simulation_goes_on(server):
    s = start(server, n_banks=300, steps=400, seed=6, speed=0, paused=True)
    host, port = server.removeprefix("http://").split(":")
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect((host, int(port)))
    sock.sendall(f"GET {s['stream_url']} HTTP/1.1\r\nHost: {host}\r\nAccept: text/event-stream\r\n\r\n".encode())
    try:
        wait_for(lambda: status(server, s["session_id"])["viewers"] == 1)
        control(server, session_id=s["session_id"], command="resume")
        final = wait_for(lambda: (st := status(server, s["session_id"]))["state"] == "complete" and st, timeout=HANG_S)
        assert final["step"] == 400
        assert final["dropped_viewers"] == 1 and final["viewers"] == 0
    finally:
        sock.close()


@pytest.fixture()
def paused_session(server):
    s = start(server, n_banks=6, steps=100, seed=7, speed=50)
    wait_for(lambda: status(server, s["session_id"])["step"] >= 1)
    control(server, session_id=s["session_id"], command="pause")
    yield s["session_id"]
    control(server, session_id=s["session_id"], command="stop")  # (finished: its place among --max-sessions is free)


BAD_CONTROL = [
    ('{"command": "add_capital", "bank": "bank_1", "amount": NaN}', 422),
    ('{"command": "add_capital", "bank": "bank_1", "amount": Infinity}', 422),
    ('{"command": "add_capital", "bank": "bank_1", "amount": -5}', 422),
    ('{"command": "add_capital", "bank": "bank_1", "amount": 1e300}', 422),
    ('{"command": "add_capital", "bank": "bank_1", "amount": "lots"}', 422),
    ('{"command": "add_capital", "bank": "bank_1", "amount": true}', 422),  # issue 13, item 8
    ('{"command": "add_capital", "bank": "bank_1", "amount": "50"}', 422),  # issue 13, item 8
    ('{"command": "delete_bank", "bank": 3}', 422),
    ('{"command": "pause", "session_id": 5}', 422),
    ('{"command": "add_capital", "bank": "bank_99", "amount": 5}', 404),
    ('{"command": "delete_bank", "bank": "../../etc"}', 404),
    ('{"command": "launch"}', 422),
    ('{"command": "pause"}', 409),
    ('{"command": "resume", "session_id": "nope"}', 404),
    ('{"command": "pause", "extra": 1}', 422),
    ('{"command": "central_bank", "amount": 0.03}', 422),
    ('{"command": "central_bank", "operation": "print_money", "amount": 0.03}', 422),
    ('{"command": "central_bank", "operation": "lending_facility", "bank": "bank_1", "amount": 5}', 422),
    ('{"command": "central_bank", "operation": "inject", "bank": "bank_99", "amount": 5}', 404),
    ('{"command": "central_bank", "operation": "inject", "amount": 5}', 422),
    ('{"command": "central_bank", "operation": "inject", "bank": "bank_1", "amount": -5}', 422),
    ('{"command": "central_bank", "operation": "inject", "bank": "bank_1", "amount": NaN}', 422),
    ('{"command": "central_bank", "operation": "inject", "bank": "bank_1"}', 422),
    ('{"command": "central_bank", "operation": "set_policy_rate", "amount": 1.5}', 422),
    ('{"command": "central_bank", "operation": "set_policy_rate", "amount": true}', 422),
    ('{"command": "central_bank", "operation": "set_policy_rate", "amount": "0.03"}', 422),
    ('{"command": "central_bank", "operation": "set_policy_rate", "amount": 1e400}', 422),
    ('{"command": "central_bank", "operation": "set_policy_rate", "bank": "bank_1", "amount": 0.03}', 422),
    ('{"command": "central_bank", "operation": "set_capital_requirement", "amount": -0.1}', 422),
    ('{"command": "central_bank", "operation": "set_capital_requirement"}', 422),
    ('{"command": "add_capital", "bank": "bank_1", "amount": 5, "operation": "inject"}', 422),
    ('{"command": "resume", "bank": "bank_2"}', 422),  # every command refuses a field it does not take
    ('{"command": "pause", "amount": 5}', 422),
    ('{"command": "stop", "step": 1}', 422),
    ('{"command": "delete_bank", "bank": "bank_1", "amount": 5}', 422),
    ('{"command": "branch", "bank": "bank_1"}', 422),
    ("not json", 422),
    ("[1, 2]", 422),
]


def test_the_errors_say_what_is_wrong_in_the_servers_own_terms(server, paused_session):
    r = control(server, session_id=paused_session, command="add_capital", bank="bank_1")
    assert (r.status_code, r.json()["error"]) == (422, "amount is missing: give a positive finite number")
    for body, said in (({"n_banks": 10**9}, "1000000000 banks is more than this server allows"),
                       ({"steps": 10**9}, "steps = 1000000000 is more than this server allows")):
        r = httpx.post(server + "/api/interactive/start", json={"speed": 0, **body}, timeout=HANG_S)
        assert r.status_code == 422 and r.json()["error"].startswith(said), r.text


@pytest.mark.parametrize("body, code", BAD_CONTROL)
def test_bad_control_inputs_are_4xx_and_leave_the_session_intact(server, paused_session, body, code):
    sid = paused_session
    before = status(server, sid)
    if '"session_id"' not in body and body.startswith("{"):
        body = body[:-1] + f', "session_id": "{sid}"}}'
    r = httpx.post(server + "/api/interactive/control", content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == code, r.text
    assert set(r.json()) == {"error"} and r.json()["error"]
    after = status(server, sid)
    for key in ("state", "step", "total_capital", "active_banks", "policy_rate", "min_capital_ratio", "last_seq"):
        assert after[key] == before[key]


def test_every_command_refuses_the_fields_it_does_not_take_in_one_line(server, paused_session):
    from interbank.interactive.runner import COMMAND_TABLE

    given = {"bank": "bank_1", "amount": 5, "operation": "inject", "step": 0}
    before = status(server, paused_session)
    for c in COMMAND_TABLE:
        for key in (k for k in given if k not in c.takes):
            r = control(server, session_id=paused_session, command=c.name, **{key: given[key]})
            assert r.status_code == 422, r.text
            users = ", ".join(other.name for other in COMMAND_TABLE if key in other.takes)
            assert r.json() == {"error": f"{c.name} takes no {key} ({key} is for {users})"}
    after = status(server, paused_session)
    assert {k: after[k] for k in ("state", "step", "last_seq")} == {k: before[k] for k in ("state", "step", "last_seq")}


def test_central_bank_commands_over_http(server, paused_session):
    sid = paused_session
    before = status(server, sid)
    r = control(server, session_id=sid, command="central_bank", operation="inject", bank="bank_2", amount=250)
    assert r.status_code == 200, r.text
    body = r.json()
    event = body["event"]
    assert body["ok"] and body["state"] == "paused" and body["step"] == before["step"]
    assert event["type"] == "central_bank" and event["step"] == before["step"] and event["seq"] == before["last_seq"] + 1
    assert event["data"]["operation"] == "inject" and event["data"]["bank"] == "bank_2" and event["data"]["amount"] == 250.0
    # a loan, not capital: total capital does not move
    assert body["total_capital"] == pytest.approx(before["total_capital"], rel=1e-12)

    r = control(server, session_id=sid, command="central_bank", operation="set_policy_rate", amount=0.04)
    assert r.status_code == 200, r.text
    assert r.json()["event"]["data"]["value"] == 0.04 and r.json()["policy_rate"] == 0.04
    r = control(server, session_id=sid, command="central_bank", operation="set_capital_requirement", amount=0.15)
    assert r.status_code == 200, r.text
    assert r.json()["event"]["data"]["value"] == 0.15 and r.json()["min_capital_ratio"] == 0.15
    after = status(server, sid)
    assert after["state"] == "paused" and after["step"] == before["step"] and after["last_seq"] == before["last_seq"] + 3

    # every viewer gets the same events on the stream
    got = read_events(server + f"/api/interactive/stream/{sid}", headers={"Last-Event-ID": str(before["last_seq"])}, limit=3)
    assert [(e["type"], e["data"]["operation"]) for e in got] == [
        ("central_bank", "inject"), ("central_bank", "set_policy_rate"), ("central_bank", "set_capital_requirement")]
    assert {k: v for k, v in got[0].items() if not k.startswith("_")} == event

    # a deleted bank cannot get liquidity
    assert control(server, session_id=sid, command="delete_bank", bank="bank_2").status_code == 200
    r = control(server, session_id=sid, command="central_bank", operation="inject", bank="bank_2", amount=5)
    assert r.status_code == 409 and "gone" in r.json()["error"]
    # resumed, the session runs on under the new settings
    assert control(server, session_id=sid, command="resume").status_code == 200
    wait_for(lambda: status(server, sid)["step"] > before["step"])
    assert status(server, sid)["policy_rate"] == 0.04
    control(server, session_id=sid, command="stop")


def test_control_request_matches_the_runner():
    from typing import get_args

    from interbank.interactive.runner import CENTRAL_BANK_OPERATIONS, COMMANDS, SESSION_COMMANDS
    from interbank.interactive.server import ControlRequest

    fields = ControlRequest.model_fields
    assert set(get_args(fields["command"].annotation)) == set(COMMANDS) | set(SESSION_COMMANDS)
    (ops,) = [get_args(a) for a in get_args(fields["operation"].annotation) if a is not type(None)]
    assert set(ops) == set(CENTRAL_BANK_OPERATIONS)


@pytest.mark.parametrize(
    "kwargs, code",
    [
        ({"content": '{"command": "pause"}', "headers": {"Content-Type": "text/plain"}}, 415),
        ({"content": '{"command": "pause", "bank": "' + "x" * 2_000_000 + '"}', "headers": {"Content-Type": "application/json"}}, 413),
    ],
)
def test_wrong_content_type_and_oversized_body(server, paused_session, kwargs, code):
    before = status(server, paused_session)
    r = httpx.post(server + "/api/interactive/control", timeout=HANG_S, **kwargs)
    assert r.status_code == code and "error" in r.json()
    assert status(server, paused_session)["state"] == before["state"]


@pytest.mark.parametrize(
    "body, code",
    [
        ({"banks": [{"capital": 10, "target_leverage": 5, "risk": 1.5}]}, 422),
        ({"banks": [{"capital": -1, "target_leverage": 5, "risk": 0.5}]}, 422),
        ({"banks": [{"capital": 10, "target_leverage": 5, "risk": 0.5}]}, 422),  # one bank: no market (n_banks needs 2 too)
        ({"n_banks": 100000}, 422),
        ({"steps": 10**7}, 422),
        ({"speed": -1}, 422),
        ({"policy": "oracle"}, 422),
        ({"checkpoint": "../../etc/passwd"}, 422),
        ({"checkpoint": "missing"}, 404),
        ({"scenario": "nope"}, 404),
        ({"checkpoint": "tiny", "policy": "random"}, 422),
        ({"colour": "red"}, 422),
        ({"paused": "yes"}, 422),  # issue 13, item 8
        ({"n_banks": "5"}, 422),
        ({"n_banks": True}, 422),
        ({"seed": 1.5}, 422),
        ({"speed": "5"}, 422),
        ({"speed": 1e-9}, 422),  # issue 13, item 3: below the minimum speed
        ({"speed": 2.17e-184}, 422),
        ({"banks": [{"capital": 1e307, "target_leverage": 100, "risk": 0.5}] * 2}, 422),  # issue 13, item 4
        ({"banks": [{"capital": 1e306, "target_leverage": 100, "risk": 0.5}] * 2}, 422),
        ({"banks": [{"capital": 1e12, "target_leverage": 20, "risk": 0.5}] * 2}, 422),
        ({"banks": [{"capital": True, "target_leverage": 2, "risk": 0.5}] * 2}, 422),
    ],
)
def test_bad_start_bodies(server, body, code):
    before = httpx.get(server + "/api/interactive/sessions").json()["sessions"]
    r = httpx.post(server + "/api/interactive/start", json=body, timeout=HANG_S)
    assert r.status_code == code, r.text
    assert set(r.json()) == {"error"} and "\n" not in r.json()["error"]
    assert len(httpx.get(server + "/api/interactive/sessions").json()["sessions"]) == len(before)  # nothing started


@pytest.mark.parametrize("banks", [[1, 2], ["a", "b"], [None, None], [[1], [2]]])
def test_a_bank_that_is_not_an_object_is_named_not_the_body(server, banks):
    """The body is an object; its first bank is not: the message says so (it blamed the body)."""
    r = httpx.post(server + "/api/interactive/start", json={"banks": banks}, timeout=HANG_S)
    error = r.json()["error"]
    assert r.status_code == 422 and error.startswith("banks.0") and error.endswith("must be a JSON object"), error
    whole = httpx.post(server + "/api/interactive/start", json=[1, 2], timeout=HANG_S)
    assert whole.status_code == 422 and whole.json()["error"] == "the body must be a JSON object (Content-Type: application/json)"


@pytest.mark.parametrize("scenario", [None, "stress"])
def test_banks_and_n_banks_together_are_refused_naming_both(server, scenario):
    before = httpx.get(server + "/api/interactive/sessions", timeout=HANG_S).json()["sessions"]
    body = {"n_banks": 3, "banks": [{"capital": 10, "target_leverage": 5, "risk": 0.5}] * 2,
            **({"scenario": scenario} if scenario else {})}
    r = httpx.post(server + "/api/interactive/start", json=body, timeout=HANG_S)
    assert r.status_code == 422, r.text
    assert r.json()["error"].startswith("give banks or n_banks, not both") and "\n" not in r.json()["error"]
    assert len(httpx.get(server + "/api/interactive/sessions", timeout=HANG_S).json()["sessions"]) == len(before)
    # banks with a scenario: the banks given are the session's banks
    r = httpx.post(server + "/api/interactive/start", json={**body, "n_banks": None, "paused": True}, timeout=HANG_S)
    assert r.status_code == 201 and r.json()["n_banks"] == 2, r.text
    control(server, session_id=r.json()["session_id"], command="stop")


def test_start_from_a_named_checkpoint_and_a_scenario(server):
    s = start(server, checkpoint="tiny", scenario="smoke", steps=5)
    events = read_events(server + s["stream_url"])
    assert events[0]["data"]["config"]["run"]["checkpoint"] == "tiny"
    assert events[0]["data"]["config"]["n_banks"] == 8
    assert httpx.get(server + "/api/checkpoints").json()["checkpoints"] == ["tiny"]


def test_a_scenario_plays_its_own_seed_unless_the_start_names_one(server):
    # configs/stress.yaml says seed: 7, as simulate --config stress plays it
    own = start(server, scenario="stress", steps=2, paused=True)
    named = start(server, scenario="stress", steps=2, seed=3, paused=True)
    sessions = {s["session_id"]: s for s in httpx.get(server + "/api/interactive/sessions").json()["sessions"]}
    assert sessions[own["session_id"]]["settings"]["seed"] == 7
    assert sessions[named["session_id"]]["settings"]["seed"] == 3
    for s in (own, named):
        control(server, session_id=s["session_id"], command="stop")


def test_a_checkpoint_without_a_scenario_plays_its_training_runs_env_and_seed(tmp_path):
    import yaml

    from interbank.envs.observation import N_FEATURES
    from tests.interactive.conftest import serve, stop
    from tests.policies.test_checkpoint import _write

    run = tmp_path / "checkpoints" / "run"
    _write(run, n_features=N_FEATURES)
    (run / "config.yaml").write_text(yaml.safe_dump({"env": {"n_banks": 6, "max_steps": 9, "seed": 5}}))
    proc, base = serve("--checkpoints", str(tmp_path / "checkpoints"))
    try:
        s = start(base, checkpoint="run", paused=True)
        settings = {x["session_id"]: x for x in httpx.get(base + "/api/interactive/sessions").json()["sessions"]}
        got = settings[s["session_id"]]["settings"]
        assert (got["n_banks"], got["steps"], got["seed"]) == (6, 9, 5)
    finally:
        stop(proc)


def test_every_api_route_refuses_an_unknown_query_key_and_the_page_reads_its_own(server, paused_session):
    paths = httpx.get(server + "/openapi.json", timeout=HANG_S).json()["paths"]
    routes = [(method, path) for path, ops in paths.items() if path.startswith("/api/") for method in ops]
    assert {("get", "/api/interactive/status"), ("get", "/api/interactive/sessions"), ("post", "/api/interactive/control")} <= set(routes)
    before = status(server, paused_session)
    for method, path in routes:
        url = server + path.replace("{session_id}", paused_session)
        r = httpx.request(method, url, params={"foo": "1"}, json={"session_id": paused_session, "command": "resume"}
                          if method == "post" else None, timeout=HANG_S)
        assert r.status_code == 422, (method, path, r.text)
        assert r.json()["error"].startswith(f"unknown query key 'foo' for {path.split('{')[0]}")
    assert status(server, paused_session)["state"] == before["state"] == "paused"  # nothing started, nothing resumed
    r = httpx.get(server + "/api/interactive/exposures/" + paused_session, params={"step": 1, "limt": 5}, timeout=HANG_S)
    assert r.json() == {"error": f"unknown query key 'limt' for /api/interactive/exposures/{paused_session}; it takes step, limit"}
    assert httpx.get(server + "/", params={"events": "raw"}, timeout=HANG_S).status_code == 200


def test_unknown_session_status_and_stream_are_404(server):
    assert httpx.get(server + "/api/interactive/status", params={"session_id": "zzz"}).status_code == 404
    assert httpx.get(server + "/api/interactive/stream/zzz").status_code == 404


def test_openapi_docs_and_page_are_served(server):
    assert httpx.get(server + "/docs").status_code == 200
    spec = httpx.get(server + "/openapi.json").json()
    assert "/api/interactive/start" in spec["paths"] and "/api/interactive/control" in spec["paths"]
    page = httpx.get(server + "/")
    assert page.status_code == 200 and "interbank" in page.text
    assert httpx.get(server + "/static/app.js").status_code == 200


def test_branch_forks_a_paused_session_and_the_plain_branch_is_the_original_byte_for_byte(server):
    import json

    from interbank.interactive.verify import verify_events
    from tests.interactive.sse_client import read_data

    s = start(server, n_banks=12, steps=30, seed=9, speed=50)
    sid = s["session_id"]
    wait_for(lambda: status(server, sid)["step"] >= 4)
    control(server, session_id=sid, command="pause")
    assert control(server, session_id=sid, command="branch", bank="bank_1").status_code == 422
    r = control(server, session_id=sid, command="branch")
    assert r.status_code == 201, r.text
    treated = r.json()
    assert treated["state"] == "paused" and treated["parent"] == sid and treated["fork_step"] == status(server, sid)["step"]
    plain = control(server, session_id=sid, command="branch").json()
    # the intervention in one branch only
    assert control(server, session_id=treated["session_id"], command="add_capital", bank="bank_3", amount=250.0).status_code == 200
    for x in (sid, plain["session_id"], treated["session_id"]):
        assert control(server, session_id=x, command="resume").status_code == 200
    for x in (sid, plain["session_id"], treated["session_id"]):
        wait_for(lambda x=x: status(server, x)["state"] == "complete", timeout=HANG_S)
    streams = {x: read_data(server + f"/api/interactive/stream/{x}") for x in (sid, plain["session_id"], treated["session_id"])}
    original, branch_plain, branch_treated = streams[sid], streams[plain["session_id"]], streams[treated["session_id"]]
    init = json.loads(branch_plain[0])
    fork = init["data"]["config"]["branch"]
    assert init["type"] == "init" and fork["parent"] == sid and fork["step"] == treated["fork_step"]
    k = fork["seq"] + 1
    # up to the fork the branches hold the original's events; from the fork on the plain one is the original
    assert branch_plain[1:k] == original[1:k] and branch_treated[1:k] == original[1:k]
    assert branch_plain[k:] == original[k:]
    assert json.loads(branch_treated[k])["type"] == "capital_added" and branch_treated[k:] != original[k:]
    for stream in (original, branch_plain, branch_treated):  # what replay --verify checks
        ok, message = verify_events([json.loads(x) for x in stream])
        assert ok, message
    # a running session does not branch
    assert control(server, session_id=sid, command="branch").status_code == 409


def test_a_completed_session_branches_from_an_earlier_step_not_from_its_last(server):
    """Its last step has no step after it: said so (it read as a replay that differs from the stream)."""
    sid = start(server, n_banks=5, steps=8, seed=4)["session_id"]
    wait_for(lambda: status(server, sid)["state"] == "complete")
    last = status(server, sid)["step"]
    r = control(server, session_id=sid, command="branch", step=last)
    assert r.status_code == 409 and "has no step after it" in r.json()["error"] and "differs" not in r.json()["error"], r.text
    r = control(server, session_id=sid, command="branch", step=last - 1)
    assert r.status_code == 201 and r.json()["step"] == last - 1, r.text


def test_init_endpoint_answers_the_streams_first_event_byte_for_byte(server):
    s = start(server, n_banks=8, steps=6, seed=3)
    with httpx.stream("GET", server + s["stream_url"], timeout=HANG_S) as r:
        first = next(line for line in r.iter_lines() if line.startswith("data: "))
    r = httpx.get(server + f"/api/interactive/init/{s['session_id']}")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    assert r.text == first.removeprefix("data: ") and r.json()["type"] == "init" and r.json()["seq"] == 0
    missing = httpx.get(server + "/api/interactive/init/nope")
    assert missing.status_code == 404 and "nope" in missing.json()["error"]


def test_exposures_endpoint_and_scenario_sizes(server):
    s = start(server, n_banks=15, steps=5, seed=2, speed=0)
    wait_for(lambda: status(server, s["session_id"])["state"] == "complete")
    x = httpx.get(server + f"/api/interactive/exposures/{s['session_id']}", params={"limit": 3}).json()
    assert x["step"] == 5 and len(x["lender"]) == len(x["borrower"]) == len(x["amount"]) <= 3
    assert httpx.get(server + "/api/interactive/exposures/nope").status_code == 404
    assert httpx.get(server + f"/api/interactive/exposures/{s['session_id']}", params={"step": -1}).status_code == 422
    sc = httpx.get(server + "/api/scenarios").json()
    assert sc["sizes"]["smoke"]["n_banks"] > 0 and sc["default"]["n_banks"] == 20


# ------------------------------------------------------------------ issue 13
def _raw(server, request: bytes, read_timeout=HANG_S) -> tuple[int, dict, bytes]:
    """Send raw bytes, read one HTTP response: (status, headers, body)."""
    host, port = server.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=read_timeout) as sock:
        sock.sendall(request)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
        length = int(headers.get("content-length", 0))
        while len(body) < length:
            chunk = sock.recv(65536)
            if not chunk:
                break
            body += chunk
    return int(lines[0].split()[1]), headers, body


def test_a_chunked_body_is_refused_with_413_while_it_arrives(server, paused_session):
    import json
    import select

    host, port = server.removeprefix("http://").split(":")
    sent = 0
    with socket.create_connection((host, int(port)), timeout=HANG_S) as sock:
        sock.sendall(f"POST /api/interactive/control HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
                     "Transfer-Encoding: chunked\r\n\r\n".encode())
        chunk = b"%x\r\n%s\r\n" % (65536, b" " * 65536)
        answered = False
        while sent < 200_000_000:  # the 200 MB, if the server kept reading
            if select.select([sock], [], [], 0)[0]:
                answered = True
                break
            try:
                sock.sendall(chunk)
            except OSError:  # the server answered and closed: stop sending
                answered = True
                break
            sent += 65536
        assert answered
        response = b""
        while b"\r\n\r\n" not in response or not response.rstrip().endswith(b"}"):
            part = sock.recv(65536)
            if not part:
                break
            response += part
    assert response.startswith(b"HTTP/1.1 413")
    assert json.loads(response.partition(b"\r\n\r\n")[2])["error"].startswith("body too large")
    assert sent < 20_000_000  # refused after about 1 MB arrived, not after 200 MB
    assert status(server, paused_session)["state"] == "paused"


def test_a_stopped_slow_session_ends_its_viewers_and_frees_its_slot(tmp_path):
    from tests.interactive.conftest import serve, stop

    proc, base = serve("--max-sessions", "2")
    try:
        slow = [start(base, n_banks=5, steps=100, speed=0.01) for _ in range(2)]
        assert httpx.post(base + "/api/interactive/start", json={"n_banks": 5}, timeout=HANG_S).status_code == 429
        got = []
        viewer = threading.Thread(target=lambda: got.extend(read_events(base + slow[0]["stream_url"], timeout=HANG_S)))
        viewer.start()
        wait_for(lambda: status(base, slow[0]["session_id"])["viewers"] == 1)
        for s in slow:
            assert control(base, session_id=s["session_id"], command="stop").json()["state"] == "stopped"
        viewer.join(timeout=HANG_S)
        # the stream ended (that it ends within a tick, not after the 100 s period, is
        # test_sessions' stop test, with periods longer than the hang deadline)
        assert not viewer.is_alive() and got[-1]["type"] == "complete"
        # ... and the slots are free: new sessions start
        for _ in range(2):
            assert httpx.post(base + "/api/interactive/start", json={"n_banks": 5, "steps": 3}, timeout=HANG_S).status_code == 201
    finally:
        stop(proc)


@pytest.mark.parametrize("header", ["--5", "abc", "1.5", "-2", "9" * 40, "caf\xe9"])
def test_a_bad_last_event_id_is_a_json_422(server, header):
    s = start(server, n_banks=4, steps=3)
    code, headers, body = _raw(server, f"GET {s['stream_url']} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                       f"Last-Event-ID: {header}\r\nConnection: close\r\n\r\n".encode("latin-1"))
    assert code == 422 and headers["content-type"] == "application/json", body
    assert "Last-Event-ID must be an event seq" in httpx.Response(422, content=body).json()["error"]


def test_a_last_event_id_beyond_the_sessions_last_event_is_a_422_running_paused_or_finished(server, paused_session):
    running = start(server, n_banks=4, steps=1000, speed=1)["session_id"]
    finished = start(server, n_banks=4, steps=3)["session_id"]
    wait_for(lambda: status(server, finished)["state"] == "complete")
    for sid in (running, paused_session, finished):
        last = status(server, sid)["last_seq"]
        for beyond in (last + 1, 99999):
            r = httpx.get(f"{server}/api/interactive/stream/{sid}", headers={"Last-Event-ID": str(beyond)}, timeout=HANG_S)
            assert r.status_code == 422, (sid, r.text)
            assert r.json()["error"].startswith(f"Last-Event-ID = {beyond} is beyond the session's last event (seq ")
        r = httpx.get(f"{server}/api/interactive/stream/{sid}", params={"last_event_id": 99999}, timeout=HANG_S)
        assert r.status_code == 422 and r.json()["error"].startswith("last_event_id = 99999 is beyond"), r.text
    last = status(server, finished)["last_seq"]  # caught up with a finished session: 204, browsers stop
    assert httpx.get(f"{server}/api/interactive/stream/{finished}", headers={"Last-Event-ID": str(last)}).status_code == 204
    control(server, session_id=running, command="stop")


def test_deep_json_bad_content_length_and_unknown_paths_answer_json(server, paused_session):
    deep = '{"command": "pause", "bank": ' + "[" * 50_000 + "]" * 50_000 + "}"
    r = httpx.post(server + "/api/interactive/control", content=deep, headers={"Content-Type": "application/json"})
    assert r.status_code == 422 and r.json() == {"error": "the body is nested too deeply (at most 32 levels)"}
    code, headers, body = _raw(server, b"POST /api/interactive/control HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                       b"Content-Type: application/json\r\nContent-Length: abc\r\n\r\n{}")
    assert code == 400 and headers["content-type"] == "application/json"
    assert "Content-Length" in httpx.Response(400, content=body).json()["error"]
    for method, path, expected in (("GET", "/nope", 404), ("DELETE", "/api/interactive/start", 405),
                                   ("GET", "/api/interactive/stream/x?last_event_id=abc", 422)):
        r = httpx.request(method, server + path)
        assert r.status_code == expected and set(r.json()) == {"error"}, (path, r.text)
    assert status(server, paused_session)["state"] == "paused"


@pytest.mark.parametrize("path, body", [
    ("/api/interactive/start", b'{"n_banks":3,"x\xff":1}'),
    ("/api/interactive/control", b'{"command":"resume","bank":"bank_\xc3"}'),
    ("/api/interactive/start", '{"n_banks": 3}'.encode("utf-16-le")),  # (json.loads of bytes would read it)
    ("/api/interactive/control", '{"command": "resume"}'.encode("utf-32")),
])
def test_a_body_that_is_not_utf8_is_a_json_422_naming_the_byte(server, paused_session, path, body):
    before = httpx.get(server + "/api/interactive/sessions", timeout=HANG_S).json()["sessions"]
    r = httpx.post(server + path, content=body, headers={"Content-Type": "application/json"}, timeout=HANG_S)
    at = next(i for i, b in enumerate(body) if b in (0xFF, 0xC3, 0x00))
    assert r.status_code == 422, r.text
    assert r.json()["error"].startswith(f"the body is not UTF-8 JSON: byte 0x{body[at]:02x} at position {at} (")
    assert len(httpx.get(server + "/api/interactive/sessions", timeout=HANG_S).json()["sessions"]) == len(before)
    assert status(server, paused_session)["state"] == "paused"


@pytest.mark.parametrize("host", ["evil.example", "127.0.0.1.nip.io", "localhost.evil.example:8000", ""])
def test_a_foreign_host_header_is_refused_and_local_ones_are_served(server, host):
    code, headers, body = _raw(server, f"GET /api/interactive/sessions HTTP/1.1\r\nHost: {host}\r\n"
                                       "Connection: close\r\n\r\n".encode())
    assert code == 400 and headers["content-type"] == "application/json"
    assert "is not allowed" in httpx.Response(400, content=body).json()["error"]
    for ok in ("127.0.0.1", "localhost:8000", "[::1]:8000"):
        assert _raw(server, f"GET /api/checkpoints HTTP/1.1\r\nHost: {ok}\r\nConnection: close\r\n\r\n".encode())[0] == 200


def test_a_huge_host_or_content_length_is_refused_without_being_echoed_back_whole(server):
    for head in (f"Host: {'h' * 20_000}\r\n", f"Host: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {'x' * 20_000}\r\n"):
        code, _, body = _raw(server, f"POST /api/interactive/start HTTP/1.1\r\n{head}Connection: close\r\n\r\n".encode())
        error = httpx.Response(400, content=body).json()["error"]
        assert code == 400 and len(error) < 300 and ("is not allowed" in error or "Content-Length" in error), error[:300]


def test_openapi_lists_every_code_and_the_event_stream(server):
    spec = httpx.get(server + "/openapi.json").json()
    paths = spec["paths"]
    codes = {(path, method): set(op["responses"]) for path, item in paths.items() for method, op in item.items()}
    assert codes[("/api/interactive/start", "post")] >= {"201", "400", "404", "413", "415", "422", "429", "503"}
    assert codes[("/api/interactive/control", "post")] >= {"200", "400", "404", "409", "413", "415", "422"}
    assert codes[("/api/interactive/stream/{session_id}", "get")] >= {"200", "204", "404", "410", "422"}
    stream = paths["/api/interactive/stream/{session_id}"]["get"]["responses"]["200"]["content"]
    assert "text/event-stream" in stream
    # the JSON session is 201, the stream itself (Accept: text/event-stream) 200, as the server answers them
    start_ok = paths["/api/interactive/start"]["post"]["responses"]
    assert "text/event-stream" in start_ok["200"]["content"] and "text/event-stream" not in start_ok["201"].get("content", {})
    for (path, method), found in codes.items():
        assert "400" in found, (path, method)  # every route can meet the Host check
        assert "422" in found or not path.startswith("/api/"), (path, method)  # and the query check


def test_the_server_resumes_history_from_disk_and_answers_410_past_the_spill(tmp_path):
    from tests.interactive.conftest import serve, stop

    proc, base = serve("--history-mb", "0.05", "--spill-mb", "0.3", "--spill-dir", str(tmp_path / "spill"))
    try:
        small = start(base, n_banks=6, steps=60, seed=4)
        full = read_events(base + small["stream_url"])  # from the start: most of it comes from disk
        assert [e["seq"] for e in full] == list(range(len(full))) and full[-1]["type"] == "complete"
        assert sum(len(json.dumps(e)) for e in full) > 200_000  # far more than the 50 kB window
        rest = read_events(base + small["stream_url"], headers={"Last-Event-ID": str(full[10]["seq"])})
        assert rest == full[11:]

        big = start(base, n_banks=60, steps=80, seed=5)
        final = wait_for(lambda: (st := status(base, big["session_id"]))["state"] == "complete" and st, timeout=HANG_S)
        r = httpx.get(base + big["stream_url"], headers={"Last-Event-ID": "3"})
        assert r.status_code == 410 and "no longer kept" in r.json()["error"]
        tail = read_events(base + big["stream_url"], headers={"Last-Event-ID": str(final["last_seq"] - 5)})
        assert [e["seq"] for e in tail] == list(range(final["last_seq"] - 4, final["last_seq"] + 1))
        assert tail[-1]["type"] == "complete"
    finally:
        stop(proc)


def test_finished_sessions_are_evicted_with_their_spill_after_the_ttl(tmp_path):
    from tests.interactive.conftest import serve, stop

    spill = tmp_path / "spill"
    proc, base = serve("--finished-ttl", "1", "--spill-dir", str(spill))
    try:
        s = start(base, n_banks=6, steps=5)
        assert read_events(base + s["stream_url"])[-1]["type"] == "complete"
        # gone --finished-ttl after it ended, its spill with it
        wait_for(lambda: httpx.get(base + "/api/interactive/status", params={"session_id": s["session_id"]}).status_code == 404,
                 timeout=HANG_S)
        wait_for(lambda: not any(spill.iterdir()), timeout=HANG_S)
        assert httpx.get(base + s["stream_url"]).json() == {"error": f"unknown session {s['session_id']!r}"}
    finally:
        stop(proc)


def test_the_memory_budget_answers_503_with_a_reason_and_a_stopped_session_makes_room():
    from tests.interactive.conftest import serve, stop

    proc, base = serve("--memory-budget-mb", "40")  # one 500-bank session (~21 MB), not two
    try:
        first = start(base, n_banks=500, steps=5000, speed=0.01, paused=True)
        r = httpx.post(base + "/api/interactive/start", json={"n_banks": 500, "steps": 5000, "speed": 0}, timeout=HANG_S)
        assert r.status_code == 503 and "not enough memory" in r.json()["error"]
        assert len(httpx.get(base + "/api/interactive/sessions").json()["sessions"]) == 1
        control(base, session_id=first["session_id"], command="stop")
        assert httpx.post(base + "/api/interactive/start", json={"n_banks": 500, "steps": 5000, "paused": True},
                          timeout=HANG_S).status_code == 201  # the finished session made room
    finally:
        stop(proc)


@pytest.mark.parametrize("body, key", [
    (b'{"n_banks": 5, "n_banks": 7, "steps": 3}', "n_banks"),
    (b'{"policy": "lend_surplus", "params": {"c": 2, "c": 5}, "n_banks": 5}', "c"),
])
def test_a_body_that_gives_a_key_twice_is_refused_naming_it(server, body, key):
    before = httpx.get(server + "/api/interactive/sessions", timeout=HANG_S).json()["sessions"]
    r = httpx.post(server + "/api/interactive/start", content=body, headers={"Content-Type": "application/json"},
                   timeout=HANG_S)
    assert r.status_code == 422 and r.json() == {"error": f"the body gives {key!r} twice"}, r.text
    assert len(httpx.get(server + "/api/interactive/sessions", timeout=HANG_S).json()["sessions"]) == len(before)


@pytest.mark.parametrize("request_args", [
    ("POST", "/api/interactive/start", {"json": {"scenario": "a" * 100_000}}),
    ("POST", "/api/interactive/start", {"json": {"checkpoint": "b" * 100_000}}),
    ("POST", "/api/interactive/control", {"json": {"session_id": "c" * 100_000, "command": "pause"}}),
    ("GET", "/api/interactive/init/" + "d" * 20_000, {}),
    ("GET", "/api/interactive/exposures/" + "e" * 20_000, {}),
    ("GET", "/api/interactive/status?session_id=" + "f" * 20_000, {}),
    ("GET", "/api/interactive/status?" + "g" * 20_000 + "=1", {}),
])
def test_a_huge_value_is_refused_without_being_echoed_back_whole(server, request_args):
    method, path, kwargs = request_args
    r = httpx.request(method, server + path, timeout=HANG_S, **kwargs)
    assert r.status_code == 422, r.text[:300]
    assert len(r.json()["error"]) < 300 and "\n" not in r.json()["error"], r.text[:300]


@pytest.mark.parametrize("query, says", [
    ("step=1.0", "must be a whole number written in digits"),
    ("step=%2B1", "must be a whole number written in digits"),
    ("step=%201%20", "must be a whole number written in digits"),
    ("step=1_0", "must be a whole number written in digits"),  # (int() reads it as 10)
    ("step=1&step=2", "the query gives 'step' twice"),
])
def test_query_numbers_are_digits_and_a_query_key_is_given_once(server, paused_session, query, says):
    r = httpx.get(f"{server}/api/interactive/step_end/{paused_session}?{query}", timeout=HANG_S)
    assert r.status_code == 422 and says in r.json()["error"], r.text
    r = httpx.get(f"{server}/api/interactive/status?session_id={paused_session}&session_id=other", timeout=HANG_S)
    assert r.status_code == 422 and "'session_id' twice" in r.json()["error"], r.text
    assert httpx.get(f"{server}/api/interactive/exposures/{paused_session}?step=0&limit=5", timeout=HANG_S).status_code == 200

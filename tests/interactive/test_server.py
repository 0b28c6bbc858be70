"""The HTTP/SSE server against a real uvicorn process on 127.0.0.1."""

import socket
import threading
import time

import httpx
import pytest

from tests.interactive.sse_client import parse, read_events


def start(base, **body):
    r = httpx.post(base + "/api/interactive/start", json={"speed": 0, **body}, timeout=30)
    assert r.status_code == 201, r.text
    return r.json()


def control(base, **body):
    return httpx.post(base + "/api/interactive/control", json=body, timeout=30)


def status(base, sid):
    r = httpx.get(base + "/api/interactive/status", params={"session_id": sid}, timeout=10)
    assert r.status_code == 200, r.text
    return r.json()


def wait_for(predicate, timeout=30.0):
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
    with httpx.stream("POST", server + "/api/interactive/start", json=body, headers={"Accept": "text/event-stream"}, timeout=30) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
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
        t.join(timeout=60)
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
    t.join(timeout=20)
    assert not t.is_alive()
    assert [e["type"] for e in got[-2:]] == ["stopped", "complete"]
    assert control(server, session_id=s["session_id"], command="resume").status_code == 409


def test_a_stalled_client_is_dropped_and_the_simulation_goes_on(server):
    s = start(server, n_banks=300, steps=1500, seed=6, speed=0, paused=True)
    host, port = server.removeprefix("http://").split(":")
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect((host, int(port)))
    sock.sendall(f"GET {s['stream_url']} HTTP/1.1\r\nHost: {host}\r\nAccept: text/event-stream\r\n\r\n".encode())
    try:
        wait_for(lambda: status(server, s["session_id"])["viewers"] == 1)
        control(server, session_id=s["session_id"], command="resume")
        final = wait_for(lambda: (st := status(server, s["session_id"]))["state"] == "complete" and st, timeout=120)
        assert final["step"] == 1500
        assert final["dropped_viewers"] == 1 and final["viewers"] == 0
    finally:
        sock.close()


@pytest.fixture()
def paused_session(server):
    s = start(server, n_banks=6, steps=100, seed=7, speed=50)
    wait_for(lambda: status(server, s["session_id"])["step"] >= 1)
    control(server, session_id=s["session_id"], command="pause")
    return s["session_id"]


BAD_CONTROL = [
    ('{"command": "add_capital", "bank": "bank_1", "amount": NaN}', 422),
    ('{"command": "add_capital", "bank": "bank_1", "amount": Infinity}', 422),
    ('{"command": "add_capital", "bank": "bank_1", "amount": -5}', 422),
    ('{"command": "add_capital", "bank": "bank_1", "amount": 1e300}', 422),
    ('{"command": "add_capital", "bank": "bank_1", "amount": "lots"}', 422),
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
    ("not json", 422),
    ("[1, 2]", 422),
]


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
    r = httpx.post(server + "/api/interactive/control", timeout=30, **kwargs)
    assert r.status_code == code and "error" in r.json()
    assert status(server, paused_session)["state"] == before["state"]


@pytest.mark.parametrize(
    "body, code",
    [
        ({"banks": [{"capital": 10, "target_leverage": 5, "risk": 1.5}]}, 422),
        ({"banks": [{"capital": -1, "target_leverage": 5, "risk": 0.5}]}, 422),
        ({"n_banks": 100000}, 422),
        ({"steps": 10**7}, 422),
        ({"speed": -1}, 422),
        ({"policy": "oracle"}, 422),
        ({"checkpoint": "../../etc/passwd"}, 422),
        ({"checkpoint": "missing"}, 404),
        ({"scenario": "nope"}, 404),
        ({"checkpoint": "tiny", "policy": "random"}, 422),
        ({"colour": "red"}, 422),
    ],
)
def test_bad_start_bodies(server, body, code):
    r = httpx.post(server + "/api/interactive/start", json=body, timeout=30)
    assert r.status_code == code, r.text
    assert "error" in r.json()


def test_start_from_a_named_checkpoint_and_a_scenario(server):
    s = start(server, checkpoint="tiny", scenario="smoke", steps=5)
    events = read_events(server + s["stream_url"])
    assert events[0]["data"]["config"]["run"]["checkpoint"] == "tiny"
    assert events[0]["data"]["config"]["n_banks"] == 8
    assert httpx.get(server + "/api/checkpoints").json()["checkpoints"] == ["tiny"]


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
        wait_for(lambda x=x: status(server, x)["state"] == "complete", timeout=60)
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


def test_exposures_endpoint_and_scenario_sizes(server):
    s = start(server, n_banks=15, steps=5, seed=2, speed=0)
    wait_for(lambda: status(server, s["session_id"])["state"] == "complete")
    x = httpx.get(server + f"/api/interactive/exposures/{s['session_id']}", params={"limit": 3}).json()
    assert x["step"] == 5 and len(x["lender"]) == len(x["borrower"]) == len(x["amount"]) <= 3
    assert httpx.get(server + "/api/interactive/exposures/nope").status_code == 404
    assert httpx.get(server + f"/api/interactive/exposures/{s['session_id']}", params={"step": -1}).status_code == 422
    sc = httpx.get(server + "/api/scenarios").json()
    assert sc["sizes"]["smoke"]["n_banks"] > 0 and sc["default"]["n_banks"] == 20

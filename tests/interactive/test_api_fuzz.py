"""API fuzzing: hypothesis draws request bodies, queries and headers around the request models
and sends them to a live server (fixed seed, small budget). No answer may be a 5xx or a code the
OpenAPI description does not list for its route, and every error is a JSON {"error": ...}."""

import json

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from interbank.interactive.server import ControlRequest, StartRequest
from tests.deadlines import HANG_S
from tests.interactive.conftest import serve, stop

SETTINGS = settings(max_examples=120, deadline=None, derandomize=True, database=None,
                    suppress_health_check=list(HealthCheck))

json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20), st.sampled_from(["", "5", "yes", "bank_1", "../../etc/passwd", "default", "tiny"]),
)
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=12)


def _near(valid: st.SearchStrategy) -> st.SearchStrategy:
    """A field's value: mostly plausible, sometimes anything JSON can carry."""
    return st.one_of(valid, valid, json_values)


bank = st.fixed_dictionaries({"capital": _near(st.floats(0, 1e13)), "target_leverage": _near(st.floats(0, 200)),
                              "risk": _near(st.floats(-0.5, 1.5))})
START_FIELDS = {
    "banks": _near(st.lists(bank, min_size=0, max_size=5)),
    "scenario": _near(st.sampled_from(["default", "smoke", "stress", "nope"])),
    "n_banks": _near(st.integers(-3, 40)),
    "policy": _near(st.sampled_from(["random", "hold", "heuristic", "hoard", "lend_surplus", "carry", "oracle"])),
    "params": _near(st.dictionaries(st.sampled_from(["c", "threshold", "low_cash", "spread", "k"]),
                                    _near(st.floats(-5, 5)), max_size=3)),
    "replace": _near(st.sampled_from(["00000000", "nosuchid", ""])),
    "checkpoint": _near(st.sampled_from(["tiny", "missing", ".."])),
    "seed": _near(st.integers(-1, 2**33)),
    "steps": _near(st.integers(-1, 60)),
    "speed": _near(st.one_of(st.just(0), st.floats(0, 2000))),
    "paused": _near(st.booleans()),
    "central_bank": _near(st.sampled_from(["never", "taylor", "ccyb", "bagehot", "learned", "oracle"])),
    "central_bank_params": _near(st.dictionaries(st.sampled_from(["a", "rate_step", "threshold", "k"]),
                                                 _near(st.floats(-5, 5)), max_size=3)),
}
CONTROL_FIELDS = {
    "command": _near(st.sampled_from(["pause", "resume", "stop", "delete_bank", "add_capital", "central_bank", "launch"])),
    "bank": _near(st.sampled_from(["bank_0", "bank_3", "bank_99"])),
    "amount": _near(st.floats(-10, 1e16)),
    "operation": _near(st.sampled_from(["inject", "set_policy_rate", "set_capital_requirement", "repayment"])),
    "step": _near(st.integers(-3, 40)),
}


def _bodies(fields: dict, extra: st.SearchStrategy) -> st.SearchStrategy:
    objects = st.fixed_dictionaries({}, optional=fields)
    with_extra = st.tuples(objects, st.dictionaries(st.text(max_size=6), json_values, max_size=2)).map(lambda t: {**t[1], **t[0]})
    raw = st.one_of(st.binary(max_size=40), st.sampled_from([b"", b"[]", b"null", b"{", b'{"a":' * 40]))
    return st.one_of(objects.map(lambda d: json.dumps(d).encode()), objects.map(lambda d: json.dumps(d).encode()),
                     with_extra.map(lambda d: json.dumps(d).encode()), raw, extra)


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    from interbank.envs.observation import N_FEATURES
    from tests.policies.test_checkpoint import _write

    ckpts = tmp_path_factory.mktemp("checkpoints")
    _write(ckpts / "tiny", n_features=N_FEATURES)
    proc, base = serve("--checkpoints", str(ckpts), "--max-sessions", "4", "--max-banks", "30", "--max-steps", "60",
                       "--finished-ttl", "1")
    spec = httpx.get(base + "/openapi.json").json()
    documented = {(path, method.upper()): {int(code) for code in op["responses"]}
                  for path, item in spec["paths"].items() for method, op in item.items()}
    with httpx.Client(base_url=base, timeout=HANG_S) as client:
        yield client, documented
    stop(proc)


def _check(response: httpx.Response, documented: set[int], route) -> None:
    assert response.status_code < 500, (route, response.status_code, response.text)
    assert response.status_code in documented, (route, response.status_code, response.text)
    if response.status_code >= 400:
        body = response.json()
        assert set(body) == {"error"} and body["error"] and "\n" not in body["error"], (route, body)


def _session(client) -> str | None:
    sessions = client.get("/api/interactive/sessions").json()["sessions"]
    return sessions[-1]["session_id"] if sessions else None


def test_request_models_are_what_the_fuzzer_mutates():
    assert set(START_FIELDS) == set(StartRequest.model_fields)
    assert set(CONTROL_FIELDS) | {"session_id"} == set(ControlRequest.model_fields)


@SETTINGS
@given(body=_bodies(START_FIELDS, st.just(b'{"n_banks": 5, "steps": 3, "speed": 0}')),
       ctype=st.sampled_from(["application/json", "application/json", "application/json; charset=utf-8", "text/plain"]))
def test_fuzz_start(live, body, ctype):
    client, documented = live
    r = client.post("/api/interactive/start", content=body, headers={"Content-Type": ctype})
    _check(r, documented[("/api/interactive/start", "POST")], "start")
    if r.status_code == 201:
        StartRequest.model_validate_json(body)  # only a strictly typed body starts a session (no "yes", no "5")
        # keep slots turning over: a started session is stopped (or already over)
        client.post("/api/interactive/control", json={"session_id": r.json()["session_id"], "command": "stop"})


@SETTINGS
@given(body=_bodies(CONTROL_FIELDS, st.just(b'{"command": "pause"}')), own_session=st.booleans())
def test_fuzz_control(live, body, own_session):
    client, documented = live
    if own_session:
        sid = _session(client) or client.post("/api/interactive/start", json={"n_banks": 8, "steps": 50, "paused": True}).json().get("session_id")
        try:
            data = json.loads(body)
            if isinstance(data, dict):
                body = json.dumps({**data, "session_id": sid}).encode()
        except ValueError:
            pass
    r = client.post("/api/interactive/control", content=body, headers={"Content-Type": "application/json"})
    _check(r, documented[("/api/interactive/control", "POST")], "control")
    if r.status_code == 200:
        ControlRequest.model_validate_json(body)  # only a strictly typed command is applied


latin1 = st.text(st.characters(min_codepoint=32, max_codepoint=255), max_size=25)


@SETTINGS
@given(session=st.one_of(st.none(), latin1.filter(lambda t: "/" not in t and "?" not in t and "#" not in t)),
       last_event_id=st.one_of(st.none(), latin1, st.integers(-5, 10**20).map(str)),
       query=st.one_of(st.none(), latin1))
def test_fuzz_stream_and_status(live, session, last_event_id, query):
    client, documented = live
    sid = _session(client) if session is None else session
    headers = {} if last_event_id is None else {"Last-Event-ID": (last_event_id.strip() or "x").encode("latin-1")}
    params = {} if query is None else {"last_event_id": query}
    with client.stream("GET", f"/api/interactive/stream/{sid or 'none'}", headers=headers, params=params, timeout=HANG_S) as r:
        if r.status_code >= 400:
            r.read()
        _check(r, documented[("/api/interactive/stream/{session_id}", "GET")], "stream")
    r = client.get("/api/interactive/status", params={} if session is None else {"session_id": session})
    _check(r, documented[("/api/interactive/status", "GET")], "status")

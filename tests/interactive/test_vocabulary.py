"""One vocabulary: each list declared once in Python, served at GET /api/vocabulary, and what the
server accepts, the page handles and the terminal shows derived from it."""

import json
import re
from pathlib import Path

import httpx
import pytest

from tests.deadlines import HANG_S
from tests.interactive.sse_client import read_events

# the page's event handlers live in its events module (web/events.js)
EVENTS_JS = Path(__file__).resolve().parents[2] / "interbank" / "interactive" / "web" / "events.js"


def _js_object_keys(source: str, name: str) -> set[str]:
    """The top-level keys of ``const NAME = { key: ..., ... };`` in the page's events module."""
    start = source.index(f"const {name} = {{")
    depth, keys, k = 0, set(), source.index("{", start)
    token = re.compile(r"(?:\s|//[^\n]*\n)*([A-Za-z_][A-Za-z0-9_]*)\s*:")  # a key, after blanks and comments
    while True:
        ch = source[k]
        if ch in "{([":
            depth += 1
            if depth == 1:
                m = token.match(source, k + 1)
                if m:
                    keys.add(m.group(1))
        elif ch in "})]":
            depth -= 1
            if depth == 0:
                return keys
        elif ch == "," and depth == 1:
            m = token.match(source, k + 1)
            if m:
                keys.add(m.group(1))
        k += 1


def _js_list(source: str, name: str) -> list[str]:
    m = re.search(rf"const {name} = \[([^\]]*)\];", source)
    assert m, f"{name} not found in events.js"
    return re.findall(r'"([^"]+)"', m.group(1))


def test_the_vocabulary_is_served_from_the_lists_declared_once(server):
    from interbank.interactive.runner import CENTRAL_BANK_OPERATIONS, COMMANDS, SESSION_COMMANDS, STATES
    from interbank.policies import BASELINES
    from interbank.sim.events import EVENT_TYPES

    v = httpx.get(server + "/api/vocabulary", timeout=HANG_S).json()
    assert [p["name"] for p in v["policies"]] == list(BASELINES)
    assert v["event_types"] == list(EVENT_TYPES)
    assert [c["name"] for c in v["commands"]] == [*COMMANDS, *SESSION_COMMANDS]
    assert [o["name"] for o in v["central_bank_operations"]] == list(CENTRAL_BANK_OPERATIONS)
    assert v["session_states"] == list(STATES)
    assert v["units"]["money"]["symbol"] == "$" and v["units"]["rate"]["scale"] == 100
    assert {o["unit"] for o in v["central_bank_operations"]} <= set(v["units"])
    assert set(v["field_units"].values()) <= set(v["units"])
    lend = next(p for p in v["policies"] if p["name"] == "lend_surplus")
    assert lend["params"] == {"c": 4.0} and lend["description"]
    # the checkpoints list offers the same baselines the start request accepts
    assert httpx.get(server + "/api/checkpoints", timeout=HANG_S).json()["policies"] == list(BASELINES)


def test_every_event_type_and_operation_is_handled_by_the_page_and_the_terminal_or_ignored_on_purpose():
    from interbank.interactive import terminal
    from interbank.interactive.vocabulary import vocabulary

    v = vocabulary()
    source = EVENTS_JS.read_text()
    page = _js_object_keys(source, "EVENT_HANDLERS") | set(_js_list(source, "IGNORED_EVENTS"))
    page_ops = _js_object_keys(source, "CENTRAL_BANK_HANDLERS")
    term = set(terminal._LINES) | set(terminal.FEED_IGNORED) | {"central_bank"}
    operations = {o["name"] for o in v["central_bank_operations"]} | set(v["facility_operations"]) | set(v["agent_operations"])
    # a registered type that declares its display ("feed" or "ignore") is shown by the generic path
    declared = {t for t in v["event_types"] if v.get("event_display", {}).get(t, {}).get("display", "own") != "own"}
    own = set(v["event_types"]) - declared
    assert own - page == set(), "event types the page neither handles nor ignores"
    assert own - term == set(), "event types the terminal neither shows nor ignores"
    assert operations - page_ops == set(), "central bank operations the page does not handle"
    assert operations - set(terminal._CENTRAL_BANK) == set(), "central bank operations the terminal does not show"
    # and nothing is handled that the vocabulary does not declare (a typo would be a silent miss)
    assert page - own == set() and page_ops - operations == set()


def test_the_handler_check_catches_an_event_type_nobody_handles(monkeypatch):
    """The check above is not vacuous: a new event type in the schema makes it fail."""
    from interbank.interactive import terminal, vocabulary as vocab_module

    real = vocab_module.vocabulary

    def with_new_type():
        v = real()
        v["event_types"] = [*v["event_types"], "margin_call"]
        return v

    monkeypatch.setattr(vocab_module, "vocabulary", with_new_type)
    with pytest.raises(AssertionError, match="neither handles nor ignores"):
        test_every_event_type_and_operation_is_handled_by_the_page_and_the_terminal_or_ignored_on_purpose()
    assert "margin_call" not in terminal._LINES


def test_every_baseline_of_the_vocabulary_starts_with_its_parameters(server):
    from interbank.interactive.verify import verify_events

    policies = httpx.get(server + "/api/vocabulary", timeout=HANG_S).json()["policies"]
    for p in policies:
        params = {k: v * 1.5 for k, v in p["params"].items()}  # not the defaults: they must arrive
        body = {"policy": p["name"], "n_banks": 5, "steps": 3, "speed": 0, **({"params": params} if params else {})}
        r = httpx.post(server + "/api/interactive/start", json=body, timeout=HANG_S)
        assert r.status_code == 201, (p["name"], r.text)
        s = r.json()
        assert s["settings"]["policy"] == p["name"] and s["settings"]["params"] == params
        events = read_events(server + s["stream_url"])
        assert events[-1]["type"] == "complete"
        run = events[0]["data"]["config"]["run"]
        assert run["policy"].startswith(p["name"])
        assert run.get("params", {}) == params
        # and the recording re-creates itself (replay --verify): the rule with its parameters
        ok, message = verify_events([{k: x for k, x in e.items() if not k.startswith("_")} for e in events])
        assert ok, (p["name"], message)


@pytest.mark.parametrize("body, message", [
    ({"policy": "hoard", "params": {"c": 3}}, "policy hoard has no parameter 'c'; it takes no parameters"),
    ({"policy": "lend_surplus", "params": {"k": 3}}, "policy lend_surplus has no parameter 'k'; it takes c"),
    ({"policy": "lend_surplus", "params": {"c": "3"}}, "params.c"),
    ({"policy": "oracle"}, "'lend_surplus'"),  # the refusal lists every baseline, from the registry
    ({"checkpoint": "tiny", "params": {"c": 3}}, "params are for a baseline policy, not a checkpoint"),
])
def test_bad_policy_parameters_are_one_line_422s_and_start_nothing(server, body, message):
    before = len(httpx.get(server + "/api/interactive/sessions", timeout=HANG_S).json()["sessions"])
    r = httpx.post(server + "/api/interactive/start", json={"n_banks": 5, **body}, timeout=HANG_S)
    assert r.status_code == 422 and message in r.json()["error"] and "\n" not in r.json()["error"], r.text
    assert len(httpx.get(server + "/api/interactive/sessions", timeout=HANG_S).json()["sessions"]) == before


def test_the_request_models_take_their_choices_from_the_registries():
    from typing import get_args

    from interbank.interactive.server import StartRequest
    from interbank.policies import BASELINES

    (choices,) = [get_args(a) for a in get_args(StartRequest.model_fields["policy"].annotation) if a is not type(None)]
    assert choices == tuple(BASELINES)
    assert json.loads(json.dumps(StartRequest.model_json_schema()))  # still exportable for /docs


WEB = EVENTS_JS.parent


def _web_sources() -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(WEB.iterdir()) if p.suffix in (".js", ".html")}


def test_the_vocabulary_serves_the_default_policy_and_the_haircut_settings():
    from interbank.interactive.vocabulary import vocabulary
    from interbank.policies import BASELINES, DEFAULT_POLICY
    from interbank.sim.state import HAIRCUT_SCALES

    v = vocabulary()
    assert v["default_policy"] == DEFAULT_POLICY and DEFAULT_POLICY in BASELINES
    assert v["haircut_scales"] == HAIRCUT_SCALES
    assert json.loads(json.dumps(v)) == v


def test_the_page_writes_no_list_the_vocabulary_serves():
    """Policies, who plays the central bank, and the haircut settings reach the page only through
    GET /api/vocabulary (and /api/checkpoints, /api/scenarios): no file under web/ names one in a
    string. Exempt: a name that is also a served operation or a field the page reads (the agent's
    ``hold`` operation, the ``ccyb`` of its own chart series)."""
    from interbank.interactive.vocabulary import vocabulary

    v = vocabulary()
    served = {p["name"] for p in v["policies"]} | {c["name"] for c in v["central_banks"]} | set(v["haircut_scales"])
    exempt = set(v["agent_operations"]) | {"ccyb"}
    found = {(name, m.group(1)) for name, text in _web_sources().items()
             for m in re.finditer(r"[\"'`](?:[a-z]+:)?([A-Za-z_]+)[\"'`]", text)  # "NAME", or "policy:NAME"
             if m.group(1) in served - exempt}
    assert not found, f"names written in the page instead of read from the vocabulary: {sorted(found)}"


def test_every_command_and_operation_the_page_sends_is_a_served_one():
    from interbank.interactive.vocabulary import vocabulary

    v = vocabulary()
    commands = {c["name"] for c in v["commands"]}
    operations = {o["name"] for o in v["central_bank_operations"]}
    sources = "\n".join(_web_sources().values())
    sent = set(re.findall(r"(?:control|allowed)\(\"([a-z_]+)\"|command: \"([a-z_]+)\"", sources))
    sent = {a or b for a, b in sent}
    asked = set(re.findall(r"intervene\(\"([a-z_]+)\"", sources))
    assert sent and sent <= commands, sent - commands
    assert asked == operations, asked ^ operations
    # the central bank controls and the fork follow the commands' served states, not a copy of them
    panels = (WEB / "panels.js").read_text(encoding="utf-8")
    assert 'allowed("central_bank", state)' in panels and 'allowed("branch", state)' in panels


def test_the_page_colours_and_names_every_priority():
    from interbank.interactive.vocabulary import vocabulary

    priorities = vocabulary()["priorities"]
    state = (WEB / "state.js").read_text(encoding="utf-8")
    colors = re.search(r"export const COLORS = \{([^}]*)\}", state).group(1)
    assert set(re.findall(r"([A-Za-z_]+):", colors)) == {*priorities, "defaulted", "deleted"}
    legend = (WEB / "index.html").read_text(encoding="utf-8").split('id="legend"')[1].split("</div>")[0]
    assert all(f'<span class="dot {p.lower()}"></span>{p}' in legend for p in priorities)

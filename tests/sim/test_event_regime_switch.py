"""regime_switch, the example of an event type that is one file
(interbank/sim/event_types/regime_switch.py): the schema, the served vocabulary, the terminal and
the page all know it from its declaration, and the streams that carry it validate."""

import pytest
from jsonschema import Draft202012Validator

from interbank.envs import parallel_env
from interbank.schema import event_schema
from interbank.sim.actions import HOLD
from interbank.sim.events import EVENT_TYPES, EVENTS, SIMULATION_EVENTS, EventType

REGIMES = {"markets": {"dynamic": {"type": "regime_switching", "params": {"enter": 1.0, "leave": 1.0}}},
           "shocks": {"crash_prob": 0.0}}
EVENT = {"seq": 7, "step": 1, "type": "regime_switch",
         "data": {"market": "BANK_INDEX", "regime": "stress", "volatility": 0.05}}


def test_it_is_a_simulation_event_of_the_schema_and_its_fields_are_checked():
    assert "regime_switch" in SIMULATION_EVENTS and "regime_switch" in EVENT_TYPES
    validator = Draft202012Validator(event_schema())
    assert validator.is_valid(EVENT)
    assert not validator.is_valid({**EVENT, "data": {**EVENT["data"], "regime": "panic"}})
    assert not validator.is_valid({**EVENT, "data": {**EVENT["data"], "bank": "bank_0"}})


def test_a_run_with_the_regime_dynamic_emits_it_and_the_whole_stream_validates():
    env = parallel_env({"n_banks": 5, "max_steps": 4, **REGIMES}, record_events=True)
    env.reset(seed=0)
    events = env.drain_events()
    while env.agents:
        env.step({a: HOLD for a in env.agents})
        events += env.drain_events()
    assert [e["step"] for e in events if e["type"] == "regime_switch"] == [1, 1, 2, 2, 3, 3, 4, 4]
    assert [e["seq"] for e in events] == list(range(len(events)))
    validator = Draft202012Validator(event_schema())
    for e in events:
        assert not list(validator.iter_errors(e)), e["type"]


def test_the_terminal_shows_its_declared_line():
    from interbank.interactive.terminal import describe

    assert describe(EVENT) == "BANK_INDEX: stress regime (volatility 0.05 a step)"


def test_the_vocabulary_serves_how_the_page_shows_it():
    from interbank.interactive.vocabulary import vocabulary

    v = vocabulary()
    assert "regime_switch" in v["simulation_events"]
    assert v["event_display"]["regime_switch"] == {"display": "feed", "feed": EVENTS["regime_switch"].feed}
    assert v["event_display"]["default"] == {"display": "own", "feed": None}


@pytest.mark.parametrize("kwargs, words", [
    ({"display": "feed"}, "feed line goes with display='feed'"),
    ({"feed": "{market}"}, "feed line goes with display='feed'"),
    ({"display": "feed", "feed": "{bank} switched"}, "plain field"),
    ({"display": "feed", "feed": "{volatility:.2%}"}, "plain field"),
    ({"kind": "market"}, "kind must be"),
])
def test_a_declaration_that_does_not_fit_its_data_is_refused(kwargs, words):
    from interbank.sim.event_types.regime_switch import RegimeSwitchData

    with pytest.raises(ValueError, match=words):
        EventType("regime_switch_2", RegimeSwitchData, **kwargs)


def test_an_existing_event_type_cannot_be_replaced():
    from interbank.sim.events import register_event

    with pytest.raises(ValueError, match="already registered"):
        register_event(EventType("default", dict))

from hypothesis import given, settings
from hypothesis import strategies as st

from interbank.config import resolve_env_config
from interbank.interactive.encoding import cut_of, line_of, lines_of, stream_of
from interbank.interactive.runner import Runner
from interbank.policies import make_policy
from interbank.sim.events import dumps

finite = st.floats(allow_nan=False, allow_infinity=False)
tiny = st.floats(min_value=-1e-3, max_value=1e-3, allow_nan=False)
huge = st.floats(min_value=1e14, max_value=1e300) | st.floats(min_value=-1e300, max_value=-1e14)
scalars = finite | tiny | huge | st.integers(-2**70, 2**70) | st.booleans() | st.none() | st.text() \
    | st.sampled_from(["fire-sale", "e-05", ":0.00001,", 'a"b', "a\\", "a\\\"", "\x7f", "é"])
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=6) | st.dictionaries(st.text(max_size=8), inner, max_size=6),
                      max_leaves=40)


@settings(max_examples=3000, deadline=None)
@given(values)
def test_a_line_is_the_bytes_dumps_writes(value):
    assert line_of({"seq": 0, "step": 1, "type": "x", "data": value}) == dumps({"seq": 0, "step": 1, "type": "x", "data": value}).encode()


@settings(max_examples=500, deadline=None)
@given(st.lists(tiny | finite, min_size=1, max_size=2000))
def test_a_long_list_with_tiny_floats_is_written_as_dumps_writes_it(numbers):
    event = {"seq": 3, "step": 2, "type": "step_end", "data": {"banks": [{"id": f"bank_{k}", "x": x} for k, x in enumerate(numbers)]}}
    assert line_of(event) == dumps(event).encode()


def test_a_type_dumps_refuses_is_refused_alike():
    import dataclasses
    import datetime

    import pytest

    @dataclasses.dataclass
    class Point:
        x: float

    for bad in ({"x": object()}, {"x": Point(1.0)}, {"x": datetime.date(2024, 1, 1)}):
        with pytest.raises(TypeError):
            dumps(bad)
        with pytest.raises(TypeError):
            line_of(bad)
    assert line_of({1: 2, 1.5: 3}) == dumps({1: 2, 1.5: 3}).encode()  # keys that are not strings: written as dumps writes them


def test_a_session_stream_encodes_byte_for_byte_as_dumps():
    runner = Runner(resolve_env_config("configs/stress.yaml", n_banks=200, max_steps=12), make_policy("heuristic", 0), 0)
    events = runner.take_events()
    while runner.step():
        events += runner.take_events()
    assert lines_of(events) == [dumps(e).encode() for e in events]


@settings(max_examples=1000, deadline=None)
@given(st.lists(values, max_size=8))
def test_lines_of_a_batch_are_the_bytes_dumps_writes_for_each(datas):
    events = [{"seq": k, "step": 1, "type": "x", "data": d} for k, d in enumerate(datas)]
    assert lines_of(events) == [dumps(e).encode() for e in events]


def test_a_string_that_holds_an_event_boundary_does_not_cut_its_event():
    events = [{"seq": 0, "step": 0, "type": "x", "data": {"note": '},{"seq":1,"step":0'}},
              {"step": 0, "seq": 1, "type": "x", "data": {"note": '},{"seq":1,'}},
              {"seq": 2, "step": 0, "type": "x", "data": 1e-7}]
    assert lines_of(events) == [dumps(e).encode() for e in events]


def _jsonl(events):
    return b"".join(dumps(e).encode() + b"\n" for e in events)


def test_a_session_stream_as_one_blob_is_the_jsonl_dumps_writes():
    runner = Runner(resolve_env_config("configs/stress.yaml", n_banks=300, max_steps=12), make_policy("heuristic", 0), 0)
    batches = [runner.take_events()]
    while runner.step():
        batches.append(runner.take_events())
    for events in batches:
        cut = cut_of(events)
        assert [cut.head + part + cut.tail for part in cut.parts] == [dumps(e).encode() for e in events]
        assert stream_of(events) == _jsonl(events)
    assert cut_of(batches[-1]).head == b'{"seq":', "a step's events are cut out of one encoding"


@settings(max_examples=1000, deadline=None)
@given(st.lists(values, max_size=8))
def test_a_batch_as_one_blob_is_the_jsonl_dumps_writes(datas):
    events = [{"seq": k, "step": 1, "type": "x", "data": d} for k, d in enumerate(datas)]
    assert stream_of(events) == _jsonl(events)


def test_a_blob_is_exact_when_an_event_is_not_seq_first_or_holds_a_nested_boundary():
    nested = {"seq": 1, "step": 0, "type": "x", "data": [{"seq": 5, "step": 0}, {"seq": 6, "step": 1e-7}]}
    for events in ([{"step": 0, "seq": 0, "type": "x", "data": 1e-7}, {"seq": 1, "step": 0, "type": "x", "data": 2}],
                   [{"seq": 0, "step": 0, "type": "x", "data": {"note": '},{"seq":1,'}}, nested]):
        assert stream_of(events) == _jsonl(events)
        cut = cut_of(events)
        assert [cut.head + part + cut.tail for part in cut.parts] == [dumps(e).encode() for e in events]

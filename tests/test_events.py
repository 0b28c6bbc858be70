"""The event stream of ``interbank simulate``: schema, sequencing, reproducibility."""

import json
import subprocess
import sys

from jsonschema import Draft202012Validator

from interbank.cli import main
from tests.conftest import read_jsonl

ARGS = ["simulate", "--policy", "heuristic", "--banks", "20", "--steps", "50", "--seed", "3", "--no-progress"]


def _simulate(tmp_path, name, extra=()):
    out = tmp_path / name
    assert main([*ARGS, "--events", str(out), *extra]) == 0
    return out


def test_stream_validates_against_the_printed_schema(tmp_path, capsys):
    out = _simulate(tmp_path, "a.jsonl", ["--config", "configs/stress.yaml"])
    schema = json.loads(subprocess.run([sys.executable, "-m", "interbank.cli", "schema"], capture_output=True, text=True, check=True).stdout)
    validator = Draft202012Validator(schema)
    events = read_jsonl(out)
    types = {e["type"] for e in events}
    assert {"init", "step_start", "transaction", "profit_booking", "step_end", "complete"} <= types
    for e in events:
        errors = list(validator.iter_errors(e))
        assert not errors, (e["type"], errors[0].message)


def test_schema_rejects_a_malformed_event(event_validator):
    good = {"seq": 0, "step": 1, "type": "default", "data": {"bank": "bank_1", "equity": -1.0, "cause": "insolvency"}}
    assert event_validator.is_valid(good)
    assert not event_validator.is_valid({**good, "data": {**good["data"], "cause": "bad luck"}})
    assert not event_validator.is_valid({**good, "type": "explosion"})
    assert not event_validator.is_valid({**good, "extra": 1})


def test_seq_is_contiguous_and_every_event_sits_inside_its_step(tmp_path):
    events = read_jsonl(_simulate(tmp_path, "a.jsonl", ["--config", "configs/stress.yaml"]))
    assert [e["seq"] for e in events] == list(range(len(events)))
    assert events[0]["type"] == "init" and events[-1]["type"] == "complete"
    open_step = None
    for e in events[1:-1]:
        if e["type"] == "step_start":
            assert open_step is None
            open_step = e["step"]
        elif e["type"] == "step_end":
            assert open_step == e["step"] == e["data"]["step"]
            open_step = None
        else:
            assert open_step == e["step"], e
    assert open_step is None
    steps = [e["step"] for e in events if e["type"] == "step_end"]
    assert steps == list(range(1, len(steps) + 1))


def test_two_runs_with_the_same_seed_are_byte_identical(tmp_path):
    a = _simulate(tmp_path, "a.jsonl")
    b = _simulate(tmp_path, "b.jsonl")
    assert a.read_bytes() == b.read_bytes()
    c = tmp_path / "c.jsonl"
    main([*ARGS[:-3], "--seed", "4", "--no-progress", "--events", str(c)])
    assert c.read_bytes() != a.read_bytes()


def test_step_end_snapshot_lists_every_bank_with_its_balance_sheet(tmp_path):
    events = read_jsonl(_simulate(tmp_path, "a.jsonl", ["--config", "configs/stress.yaml"]))
    ends = [e["data"] for e in events if e["type"] == "step_end"]
    for end in ends:
        assert [b["id"] for b in end["banks"]] == [f"bank_{i}" for i in range(20)]
        assert end["active_banks"] == sum(not (b["defaulted"] or b["deleted"]) for b in end["banks"])
    defaults = [e["data"]["bank"] for e in events if e["type"] == "default"]
    assert ends[-1]["defaults"] == len(defaults)

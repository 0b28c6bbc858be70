"""`replay --verify` on recordings that are not what they should be: one line, exit 2."""

import json

import pytest

from interbank.cli import main

INIT = {"seq": 0, "step": 0, "type": "init", "data": {"config": {"resolved": {"n_banks": 3}, "run": {"policy": "hold", "seed": 0}}}}


@pytest.mark.parametrize("content, fragment", [
    (b'{"seq": 0, "step": 0, "type": "init", "data": {"x": "caf\xe9"}}\n', "not UTF-8 text"),
    (b"[" * 100_000 + b"]" * 100_000 + b"\n", "line 1 is not JSON"),
    (b"[]\n", "line 1 is not an event"),
    (b'{"seq": "0", "step": 0, "type": "init", "data": {}}\n', "line 1 is not an event"),
    (json.dumps({**INIT, "data": {"config": {"resolved": {"n_banks": 3}, "run": {"policy": "hold", "seed": "x"}}}}).encode(),
     "run.seed must be a whole number"),
    (json.dumps({**INIT, "data": {"config": {"resolved": {"n_banks": 3}, "run": {"policy": "oracle", "seed": 0}}}}).encode(),
     "run.policy must be one of"),
    (json.dumps({**INIT, "data": {"config": {"resolved": {"n_banks": True}, "run": {"policy": "hold", "seed": 0}}}}).encode(),
     "n_banks = true"),
    (json.dumps({**INIT, "data": {"config": 5}}).encode(), "no resolved config"),
])
def test_a_bad_recording_is_one_line(tmp_path, capsys, content, fragment):
    path = tmp_path / "rec.jsonl"
    path.write_bytes(content)
    with pytest.raises(SystemExit) as exit_:
        main(["replay", "--events", str(path), "--verify"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("interbank: ") and fragment in err, err

import json

import pytest

from interbank.cli import main


def test_simulate_prints_a_summary_table(capsys):
    assert main(["simulate", "--policy", "hold", "--banks", "10", "--steps", "12", "--seed", "1", "--no-progress"]) == 0
    out = capsys.readouterr().out
    for label in ("defaults", "cascades", "total capital start", "total capital end"):
        assert label in out


def test_simulate_json_summary(capsys):
    main(["simulate", "--config", "configs/smoke.yaml", "--policy", "random", "--json", "--no-progress"])
    summary = json.loads(capsys.readouterr().out)
    assert summary["banks"] == 8 and summary["steps"] == 30 and summary["policy"] == "random"


@pytest.mark.parametrize(
    "argv, fragment",
    [
        (["simulate", "--banks", "-3"], "-3 must be at least 1"),
        (["simulate", "--policy", "genius"], "invalid choice: 'genius'"),
        (["simulate", "--seed", "x"], "'x' is not a whole number"),
        (["simulate", "--config", "nope.yaml"], "nope.yaml: no such config file"),
        (["simulate", "--events", "/nonexistent/dir/out.jsonl"], "does not exist"),
        (["bench", "--banks", "10,a"], "not a comma-separated list"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_bad_arguments_are_one_line_errors(argv, fragment, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("interbank: ")
    assert fragment in err


def test_bench_json_has_the_documented_keys(capsys):
    assert main(["bench", "--banks", "10,50", "--steps", "5", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["banks"] for r in rows] == [10, 50]
    for r in rows:
        assert {"banks", "steps", "core_bank_steps_per_s", "core_events_bank_steps_per_s", "api_bank_steps_per_s"} <= set(r)
        assert r["core_bank_steps_per_s"] > 0 and r["api_bank_steps_per_s"] > 0


def test_schema_command_prints_json_schema(capsys):
    main(["schema"])
    schema = json.loads(capsys.readouterr().out)
    assert schema["$schema"].endswith("2020-12/schema")
    assert {"init", "transaction", "capital_added"} <= set(schema["properties"]["type"]["enum"])


def test_help_explains_each_command(capsys):
    with pytest.raises(SystemExit):
        main(["simulate", "--help"])
    out = capsys.readouterr().out
    assert "--events" in out and "byte-identical" in out

"""``--central-bank`` on the command line: a rule central bank in simulate and evaluate."""

import json

import pytest

from interbank.cli import main
from tests.conftest import read_jsonl

SIM = ["simulate", "--config", "configs/stress.yaml", "--banks", "12", "--steps", "30", "--seed", "1", "--no-progress"]


def test_simulate_with_a_rule_central_bank_reports_it_and_streams_its_decisions(tmp_path, capsys):
    out = tmp_path / "a.jsonl"
    assert main([*SIM, "--central-bank", "bagehot:stress=0.5", "--json", "--events", str(out)]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["central_bank"]["rule"] == "bagehot" and summary["central_bank"]["params"] == {"stress": 0.5}
    decisions = [e for e in read_jsonl(out) if e["type"] == "central_bank" and e["data"].get("source") == "agent"]
    assert len({e["step"] for e in decisions}) == 29  # one decision per step but the last
    init = read_jsonl(out)[0]
    assert init["data"]["config"]["resolved"]["central_bank"]["rule"] == "bagehot"


def test_simulate_without_the_flag_has_no_central_bank_agent(capsys):
    assert main([*SIM, "--json"]) == 0
    assert "central_bank" not in json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("spec, words", [("volcker", "unknown central bank rule"), ("taylor:speed=1", "speed"),
                                         ("taylor:funding", "key=number"), ("taylor:funding=nan", "finite")])
def test_a_bad_central_bank_is_one_line_naming_the_flag(spec, words, capsys):
    with pytest.raises(SystemExit) as err:
        main([*SIM, "--central-bank", spec])
    assert err.value.code != 0
    message = capsys.readouterr().err.strip()
    assert "--central-bank" in message and words in message and "\n" not in message


def test_evaluate_scores_every_policy_under_the_rule_central_bank(trained_run, tmp_path, capsys):
    out = tmp_path / "eval"
    assert main(["evaluate", str(trained_run[1]), "--config", "configs/stress.yaml", "--banks", "8", "--episodes", "2", "--tune-episodes", "0",
                 "--central-bank", "taylor", "--no-plots", "--no-progress", "--out", str(out)]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["env"]["central_bank"] == {"rule": "taylor", "params": {}}
    assert all("central_bank_losses" in m for m in metrics["policies"].values())


def test_train_with_a_central_bank_learns_both_policies(tmp_path, capsys):
    import yaml

    from interbank.policies.central_bank import load_central_bank_policy
    from interbank.policies.checkpoint import load_policy
    from tests.train.test_central_bank_training import TINY

    cfg = tmp_path / "tiny.yaml"
    cfg.write_text(yaml.safe_dump(TINY))
    out = tmp_path / "run"
    assert main(["train", "--config", str(cfg), "--out", str(out), "--central-bank", "bagehot:stress=0.6",
                 "--central-bank-timesteps", "64", "--no-progress"]) == 0
    assert "central bank's policy" in capsys.readouterr().out
    load_policy(out / "banks")
    load_central_bank_policy(out / "central_bank")
    assert yaml.safe_load((out / "banks" / "config.yaml").read_text())["env"]["central_bank"]["rule_params"] == {"stress": 0.6}


def test_train_with_a_central_bank_refuses_resume_in_one_line(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["train", "--config", "configs/train/smoke.yaml", "--out", str(tmp_path), "--resume", "--central-bank", "never"])
    err = capsys.readouterr().err.strip()
    assert "--central-bank" in err and "\n" not in err

"""``interbank evaluate-central-bank`` and ``train --central-bank --rounds/--resume`` on the command line."""

import json

import pytest
import yaml

from interbank.cli import main

TINY = {
    "env": {"n_banks": 6, "max_steps": 20, "seed": 0},
    "train": {"total_timesteps": 240, "n_envs": 1, "n_steps": 20, "batch_size": 60, "n_epochs": 1,
              "checkpoint_every": 480, "net_arch": [8], "seed": 0, "device": "cpu"},
}


@pytest.fixture(scope="module")
def tiny_config(tmp_path_factory):
    path = tmp_path_factory.mktemp("cfg") / "tiny.yaml"
    path.write_text(yaml.safe_dump(TINY))
    return path


def test_the_judgement_reports_each_central_bank_with_trained_and_retrained_banks(tiny_config, tmp_path, capsys):
    out = tmp_path / "judge"
    argv = ["evaluate-central-bank", "--config", str(tiny_config), "--central-banks", "never,learned", "--seeds", "0",
            "--bank-timesteps", "120", "--central-bank-timesteps", "32", "--episodes", "1", "--tune-episodes", "0",
            "--out", str(out), "--no-progress"]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "welfare" in printed and "learned: " in printed and "CB score" in printed
    data = json.loads((out / "central_bank_eval.json").read_text())
    assert {(r["central_bank"], r["banks"]) for r in data["rows"]} == {
        ("never", "trained"), ("never", "retrained"), ("learned", "trained"), ("learned", "retrained")}
    assert data["verdicts"]["learned"]["against"] == "never"
    assert (out / "central_bank_instruments.png").stat().st_size > 0
    assert len((out / "central_bank_eval.csv").read_text().splitlines()) == 1 + 4 + 4
    # a second call reuses every finished run and measures the same numbers
    assert main(argv) == 0
    capsys.readouterr()
    assert json.loads((out / "central_bank_eval.json").read_text())["rows"] == data["rows"]


def test_a_bad_central_bank_list_is_one_line(tiny_config, tmp_path, capsys):
    with pytest.raises(SystemExit) as err:
        main(["evaluate-central-bank", "--config", str(tiny_config), "--central-banks", "never,volcker",
              "--out", str(tmp_path / "x")])
    assert err.value.code != 0
    message = capsys.readouterr().err.strip()
    assert "volcker" in message and "\n" not in message and not (tmp_path / "x").exists()


def test_train_both_over_rounds_then_resume_from_the_command_line(tiny_config, tmp_path, capsys):
    out = tmp_path / "both"
    assert main(["train", "--config", str(tiny_config), "--central-bank", "taylor", "--rounds", "2",
                 "--central-bank-timesteps", "32", "--out", str(out), "--no-progress"]) == 0
    plan = json.loads((out / "curriculum.json").read_text())
    assert plan["rounds"] == 2 and len(plan["done"]) == 4
    assert main(["train", "--resume", "--out", str(out), "--no-progress"]) == 0  # nothing left: reports the run
    assert "central bank's policy" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["train", "--resume", "--central-bank", "taylor", "--out", str(out)])
    assert "leave --central-bank out" in capsys.readouterr().err
    # flags the plan would ignore are refused, not dropped
    plan_before = (out / "curriculum.json").read_text()
    for extra, named in ((["--config", str(tiny_config)], "--config"), (["--seed", "3", "--timesteps", "999"], "--seed, --timesteps")):
        with pytest.raises(SystemExit) as err:
            main(["train", "--resume", *extra, "--out", str(out), "--no-progress"])
        assert err.value.code == 2
        assert capsys.readouterr().err == (f"interbank: --resume continues the two-policy run in {out} by its own plan: "
                                           f"leave out {named}\n")
    assert (out / "curriculum.json").read_text() == plan_before


@pytest.mark.parametrize("extra", [["--rounds", "3"], ["--central-bank-timesteps", "64"], ["--resume", "--rounds", "3"]])
def test_two_policy_flags_without_central_bank_are_refused_not_ignored(tiny_config, tmp_path, capsys, extra):
    out = tmp_path / "plain"
    with pytest.raises(SystemExit) as err:
        main(["train", "--config", str(tiny_config), *extra, "--out", str(out), "--no-progress"])
    assert err.value.code != 0
    message = capsys.readouterr().err.strip()
    assert "--central-bank RULE" in message and "\n" not in message and not out.exists()


def test_a_judgement_of_a_learned_central_bank_with_env_workers_is_refused_before_training(tmp_path, capsys):
    config = tmp_path / "workers.yaml"
    config.write_text(yaml.safe_dump({**TINY, "train": {**TINY["train"], "n_envs": 2, "env_workers": 2}}))
    out = tmp_path / "judge"
    with pytest.raises(SystemExit) as err:
        main(["evaluate-central-bank", "--config", str(config), "--central-banks", "never,learned", "--seeds", "0",
              "--tune-episodes", "0", "--out", str(out), "--no-progress"])
    assert err.value.code != 0
    message = capsys.readouterr().err.strip()
    assert "env_workers" in message and "\n" not in message and not out.exists()


def test_evaluate_refuses_an_unfinished_two_policy_run_instead_of_scoring_its_banks_without_its_central_bank(tmp_path, capsys):
    run = tmp_path / "both"
    (run / "banks" / "checkpoints").mkdir(parents=True)
    (run / "banks" / "config.yaml").write_text(yaml.safe_dump(TINY))
    (run / "curriculum.json").write_text("{}")
    out = tmp_path / "eval"
    with pytest.raises(SystemExit) as err:
        main(["evaluate", str(run), "--episodes", "1", "--out", str(out), "--no-progress", "--no-plots"])
    assert err.value.code != 0
    message = capsys.readouterr().err.strip()
    assert "unfinished two-policy run" in message and "--resume" in message and "\n" not in message
    assert not out.exists()

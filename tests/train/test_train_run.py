"""A tiny training run end to end: run folder, TensorBoard, checkpoints, resume, evaluation."""

import json

import pytest
import yaml

from interbank.cli import main
from interbank.policies.checkpoint import load_policy

TINY = {
    "env": {"n_banks": 6, "max_steps": 20, "seed": 0},
    "train": {"total_timesteps": 1440, "n_envs": 2, "n_steps": 24, "batch_size": 96, "n_epochs": 2,
              "checkpoint_every": 576, "net_arch": [16, 16], "seed": 0, "device": "cpu"},
}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("train")
    cfg = root / "tiny.yaml"
    cfg.write_text(yaml.safe_dump(TINY))
    out = root / "run"
    assert main(["train", "--config", str(cfg), "--out", str(out), "--no-progress"]) == 0
    return cfg, out


def test_run_folder_holds_everything_needed_to_tell_what_ran(run):
    cfg, out = run
    assert yaml.safe_load((out / "config.yaml").read_text())["train"]["total_timesteps"] == 1440
    assert "train --config" in (out / "command.txt").read_text()
    versions = json.loads((out / "versions.json").read_text())
    assert {"python", "torch", "stable-baselines3", "sb3-contrib", "interbank"} <= set(versions)
    assert list((out / "tb").rglob("events.out.tfevents.*"))
    steps = sorted(int(p.name) for p in (out / "checkpoints").iterdir())
    assert steps[0] >= 576 and steps[-1] >= 1440
    last = out / "checkpoints" / str(steps[-1])
    assert {p.name for p in last.iterdir()} == {"policy.safetensors", "policy.json", "model.zip"}
    assert not list((out / "checkpoints").glob(".tmp-*"))


def test_tensorboard_has_interbank_metrics_and_losses(run):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    _, out = run
    (events,) = list((out / "tb").rglob("events.out.tfevents.*"))
    acc = EventAccumulator(str(events))
    acc.Reload()
    tags = set(acc.Tags()["scalars"])
    assert {"interbank/episode_return", "interbank/default_rate", "interbank/total_capital_ratio"} <= tags
    assert "train/policy_gradient_loss" in tags or "train/loss" in tags


def test_resume_continues_the_step_counter(run, tmp_path):
    cfg, out = run
    before = max(int(p.name) for p in (out / "checkpoints").iterdir())
    assert main(["train", "--out", str(out), "--resume", "--timesteps", "2400", "--no-progress"]) == 0
    after = max(int(p.name) for p in (out / "checkpoints").iterdir())
    assert after >= 2400 > before
    assert json.loads((out / "checkpoints" / str(after) / "policy.json").read_text())["train"]["step"] == after
    assert (out / "command.txt").read_text().count("\n") == 2


def test_existing_run_needs_resume(run, capsys):
    cfg, out = run
    with pytest.raises(SystemExit):
        main(["train", "--config", str(cfg), "--out", str(out), "--no-progress"])
    assert "already holds a run: add --resume" in capsys.readouterr().err


def test_bad_train_config_is_one_line(tmp_path, capsys):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text(yaml.safe_dump({"train": {"n_stepz": 3}}))
    with pytest.raises(SystemExit):
        main(["train", "--config", str(cfg), "--out", str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert err.strip() == f"interbank: {cfg}: train.n_stepz is not a known key"
    assert not (tmp_path / "r").exists()


def test_checkpoint_loads_and_evaluates_reproducibly(run, tmp_path):
    _, out = run
    policy = load_policy(out)
    assert policy.name == "trained"
    args = ["evaluate", str(out), "--episodes", "2", "--no-progress"]
    assert main([*args, "--out", str(tmp_path / "a")]) == 0
    assert main([*args, "--out", str(tmp_path / "b"), "--no-plots"]) == 0
    a = json.loads((tmp_path / "a" / "metrics.json").read_text())
    b = json.loads((tmp_path / "b" / "metrics.json").read_text())
    assert a == b
    families = {name.split("(")[0] for name in a["policies"]}
    assert families == {"trained", "random", "hold", "heuristic", "hoard", "lend_surplus", "invest_momentum"}
    assert a["best_rule"] in a["policies"] and a["best_rule"] != "random"
    for m in a["policies"].values():
        assert {"mean_return", "default_rate", "mean_cascade_size", "systemic_loss"} <= set(m)
    assert {p.name for p in (tmp_path / "a").glob("*.png")} >= {"capital.png", "default_rate.png", "cascades.png"}
    assert (tmp_path / "a" / "metrics.csv").read_text().splitlines()[0].startswith("policy,episodes,mean_return")


def test_evaluation_on_an_unseen_network_size(run, tmp_path):
    _, out = run
    assert main(["evaluate", str(out), "--episodes", "1", "--banks", "30", "--out", str(tmp_path), "--no-plots", "--no-progress"]) == 0
    assert json.loads((tmp_path / "metrics.json").read_text())["env"]["n_banks"] == 30

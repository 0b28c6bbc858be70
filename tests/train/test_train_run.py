"""A tiny training run end to end: run folder, TensorBoard, checkpoints, safe resume, export, evaluation."""

import json
import os
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pytest

from interbank.policies import BASELINES
import yaml

from interbank.cli import main
from interbank.policies.checkpoint import load_policy
from tests.conftest import TINY_TRAIN as TINY
from tests.conftest import copy_run


@pytest.fixture
def run(trained_run):
    return trained_run


def newest(out):
    return max(int(p.name) for p in (out / "checkpoints").iterdir())


def test_run_folder_holds_everything_needed_to_tell_what_ran(run):
    _, out = run
    config = yaml.safe_load((out / "config.yaml").read_text())
    assert config["train"]["total_timesteps"] == 1440
    assert config["train"]["backend"] == "sb3" and config["train"]["algorithm"] == "maskable_ppo"
    assert "train --config" in (out / "command.txt").read_text()
    versions = json.loads((out / "versions.json").read_text())
    assert {"python", "torch", "stable-baselines3", "sb3-contrib", "interbank"} <= set(versions)
    assert list((out / "tb").rglob("events.out.tfevents.*"))
    steps = sorted(int(p.name) for p in (out / "checkpoints").iterdir())
    assert steps[0] >= 576 and steps[-1] >= 1440
    last = out / "checkpoints" / str(steps[-1])
    # nothing pickled: SB3's model.zip is only written on request (interbank export)
    assert {p.name for p in last.iterdir()} == {"policy.safetensors", "policy.json", "trainer.safetensors", "trainer.json"}
    meta = json.loads((last / "policy.json").read_text())
    assert meta["train"]["backend"] == "sb3" and meta["train"]["step"] == steps[-1]
    assert set(meta["files"]) == {"policy.safetensors", "trainer.safetensors", "trainer.json"}
    assert not list((out / "checkpoints").glob(".tmp-*")) and not list(out.glob(".*.tmp-*"))


def test_tensorboard_has_interbank_metrics_and_losses(run):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    _, out = run
    (events,) = list((out / "tb").rglob("events.out.tfevents.*"))
    acc = EventAccumulator(str(events))
    acc.Reload()
    tags = set(acc.Tags()["scalars"])
    assert {"interbank/episode_return", "interbank/default_rate", "interbank/total_capital_ratio"} <= tags
    assert "train/policy_gradient_loss" in tags or "train/loss" in tags


def test_saved_trainer_state_restores_the_optimizer_and_counters_exactly(run):
    """What --resume loads: every optimizer tensor, the step and update counters, the random generators."""
    import torch
    from safetensors.numpy import load_file

    from interbank.run_folder import newest_checkpoint
    from interbank.train.config import load_train_config
    from interbank.train.run import build_model, restore, trainer_state
    from interbank.train.vec_env import BankVecEnv

    _, out = run
    folder = newest_checkpoint(out)
    cfg = load_train_config(out / "config.yaml")
    vec = BankVecEnv(cfg.env, cfg.train.n_envs, cfg.train.seed)
    model = build_model(cfg, vec, out)
    assert restore(model, folder) == newest(out)
    saved = json.loads((folder / "trainer.json").read_text())
    meta, tensors = trainer_state(model)
    assert meta == saved  # counters and the nesting of the state, as saved
    on_disk = load_file(str(folder / "trainer.safetensors"))
    assert set(tensors) == set(on_disk) and "exp_avg_sq" in json.dumps(saved["state"])
    for key, value in tensors.items():
        np.testing.assert_array_equal(value, on_disk[key])
    weights = load_file(str(folder / "policy.safetensors"))
    for key, value in model.policy.state_dict().items():
        np.testing.assert_array_equal(value.numpy(), weights[key])
    assert model.policy.optimizer.state_dict()["state"][0]["exp_avg"].abs().sum() > 0  # a trained optimizer, not a fresh one
    assert torch.is_tensor(model.policy.optimizer.state_dict()["state"][0]["exp_avg"])
    vec.close()


def test_resume_continues_the_step_counter_with_no_repeated_flags(run, tmp_path):
    _, original = run
    out = copy_run(original, tmp_path / "run")
    before = newest(out)
    assert main(["train", "--out", str(out), "--resume", "--timesteps", "2400", "--no-progress"]) == 0
    after = newest(out)
    assert after >= 2400 > before
    assert json.loads((out / "checkpoints" / str(after) / "policy.json").read_text())["train"]["step"] == after
    assert (out / "command.txt").read_text().count("\n") == 2


class _Payload:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_finding6_resume_never_unpickles_a_crafted_model_zip_or_rewritten_policy_json(run, tmp_path, monkeypatch):
    """Issue 13, finding 6: a crafted model.zip whose hash is written into an edited policy.json made
    `train --resume` run the payload. Resume now reads safetensors + JSON only: no zip, no pickle."""
    import hashlib

    import torch

    _, original = run
    out = copy_run(original, tmp_path / "run")
    ckpt = out / "checkpoints" / str(newest(out))
    marker = tmp_path / "pwned"
    with zipfile.ZipFile(ckpt / "model.zip", "w") as z:
        z.writestr("data", pickle.dumps(_Payload(str(marker))))
        z.writestr("policy.pth", pickle.dumps(_Payload(str(marker))))
    meta = json.loads((ckpt / "policy.json").read_text())
    digest = hashlib.sha256((ckpt / "model.zip").read_bytes()).hexdigest()
    meta["train"].update(algorithm_zip="model.zip", algorithm_zip_sha256=digest)
    meta["files"]["model.zip"] = digest
    (ckpt / "policy.json").write_text(json.dumps(meta))

    def refuse(*args, **kwargs):
        raise AssertionError("resume opened a pickle or a zip")

    monkeypatch.setattr(torch, "load", refuse)
    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "loads", refuse)
    monkeypatch.setattr(zipfile, "ZipFile", refuse)
    assert main(["train", "--out", str(out), "--resume", "--timesteps", "2000", "--no-progress"]) == 0
    assert not marker.exists()
    assert newest(out) >= 2000


def test_a_pickle_in_place_of_the_trainer_state_is_refused_in_one_line(run, tmp_path, capsys):
    _, original = run
    out = copy_run(original, tmp_path / "run")
    ckpt = out / "checkpoints" / str(newest(out))
    marker = tmp_path / "pwned"
    (ckpt / "trainer.safetensors").write_bytes(pickle.dumps(_Payload(str(marker))))
    with pytest.raises(SystemExit) as exit_:
        main(["train", "--out", str(out), "--resume", "--timesteps", "2000", "--no-progress"])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and err.count("\n") == 1
    assert "trainer.safetensors: does not match the SHA-256 recorded" in err
    assert not marker.exists()


@pytest.mark.parametrize("meta_change, message", [
    ({"architecture": [1, 2]}, "architecture should be an object"),
    ({"architecture": {"type": "mlp", "hidden": "64", "activation": "tanh"}}, "architecture.hidden should be"),
    ({"train": {"step": "many"}}, "train.step should be a whole number"),
    ({"observation": None}, "observation should be"),
])
def test_malformed_checkpoint_metadata_is_one_line_for_resume_and_evaluate(run, tmp_path, capsys, meta_change, message):
    _, original = run
    out = copy_run(original, tmp_path / "run")
    ckpt = out / "checkpoints" / str(newest(out))
    meta = json.loads((ckpt / "policy.json").read_text())
    meta.update(meta_change)
    (ckpt / "policy.json").write_text(json.dumps(meta))
    for args in (["train", "--out", str(out), "--resume", "--timesteps", "2000", "--no-progress"],
                 ["evaluate", str(out), "--episodes", "1", "--no-progress", "--no-plots", "--out", str(tmp_path / "e")]):
        with pytest.raises(SystemExit) as exit_:
            main(args)
        err = capsys.readouterr().err
        assert exit_.value.code == 2 and err.count("\n") == 1 and message in err, err


def test_out_naming_an_existing_file_is_one_line(tmp_path, capsys):
    cfg = tmp_path / "tiny.yaml"
    cfg.write_text(yaml.safe_dump(TINY))
    taken = tmp_path / "taken"
    taken.write_text("not a folder")
    with pytest.raises(SystemExit) as exit_:
        main(["train", "--config", str(cfg), "--out", str(taken), "--no-progress"])
    assert exit_.value.code == 2
    assert capsys.readouterr().err == f"interbank: --out {taken}: is a file, not a run folder (choose another --out)\n"
    assert taken.read_text() == "not a folder"


def test_full_disk_while_checkpointing_is_one_line_and_leaves_no_half_checkpoint(tmp_path, capsys, monkeypatch):
    """A write into checkpoints/ fails with ENOSPC half-way: one line, exit 2, no checkpoint folder and no
    temporary left; the next start removes any temporary a crash left behind."""
    import errno

    cfg = tmp_path / "tiny.yaml"
    cfg.write_text(yaml.safe_dump({**TINY, "train": {**TINY["train"], "total_timesteps": 600}}))
    out = tmp_path / "run"
    real_write = os.write

    def full_disk(fd, data):
        if "/checkpoints/" in os.readlink(f"/proc/self/fd/{fd}"):
            real_write(fd, bytes(data)[: len(data) // 2])
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", full_disk)
    with pytest.raises(SystemExit) as exit_:
        main(["train", "--config", str(cfg), "--out", str(out), "--no-progress"])
    monkeypatch.undo()
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and err.count("\n") == 1
    assert "cannot write checkpoint 576" in err and "No space left on device (errno 28)" in err
    assert [p.name for p in (out / "checkpoints").iterdir()] == []
    # a crash (kill -9) mid-write leaves temporaries: the next start removes them
    (out / "checkpoints" / ".tmp-576-99999").mkdir()
    (out / "checkpoints" / ".tmp-576-99999" / "policy.safetensors").write_bytes(b"half")
    (out / ".config.yaml.tmp-99999").write_text("half")
    with pytest.raises(SystemExit):
        main(["train", "--out", str(out), "--resume", "--no-progress"])
    assert capsys.readouterr().err == f"interbank: {out}: no checkpoint to resume from\n"
    assert not list((out / "checkpoints").glob(".tmp-*")) and not list(out.glob(".*.tmp-*"))


def test_export_writes_sb3s_zip_on_request_only(run, tmp_path):
    from safetensors.numpy import load_file
    from sb3_contrib import MaskablePPO

    _, out = run
    zip_path = tmp_path / "model.zip"
    assert main(["export", str(out), "--out", str(zip_path)]) == 0
    model = MaskablePPO.load(zip_path, device="cpu")  # the SB3 user's side: loading our own export here
    weights = load_file(str(out / "checkpoints" / str(newest(out)) / "policy.safetensors"))
    for key, value in model.policy.state_dict().items():
        np.testing.assert_array_equal(value.numpy(), weights[key])
    assert model.num_timesteps == newest(out)


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
    assert families == {"trained", *BASELINES}
    assert a["best_rule"] in a["policies"] and a["best_rule"] != "random"
    for m in a["policies"].values():
        assert {"mean_return", "default_rate", "mean_cascade_size", "systemic_loss"} <= set(m)
    assert {p.name for p in (tmp_path / "a").glob("*.png")} >= {"capital.png", "default_rate.png", "cascades.png"}
    assert (tmp_path / "a" / "metrics.csv").read_text().splitlines()[0].startswith("policy,episodes,mean_return")


def test_evaluation_on_an_unseen_network_size(run, tmp_path):
    _, out = run
    assert main(["evaluate", str(out), "--episodes", "1", "--banks", "30", "--out", str(tmp_path), "--no-plots", "--no-progress"]) == 0
    assert json.loads((tmp_path / "metrics.json").read_text())["env"]["n_banks"] == 30


def test_linear_lr_schedule_decays_to_zero_over_the_budget(tmp_path):
    from interbank.train.config import parse_train_config
    from interbank.train.run import build_model
    from interbank.train.vec_env import BankVecEnv

    cfg = parse_train_config({"env": TINY["env"], "train": {**TINY["train"], "learning_rate": 0.001,
                                                           "lr_schedule": "linear"}}, "test")
    vec = BankVecEnv(cfg.env, 1, 0)
    model = build_model(cfg, vec, tmp_path)
    assert [model.lr_schedule(p) for p in (1.0, 0.25, 0.0)] == pytest.approx([0.001, 0.00025, 0.0])
    constant = build_model(parse_train_config({"env": TINY["env"], "train": TINY["train"]}, "test"), vec, tmp_path)
    assert constant.lr_schedule(0.0) == constant.lr_schedule(1.0) > 0


def test_lr_schedule_is_refused_for_rllib_before_anything_is_written(tmp_path):
    from interbank.config import ConfigError
    from interbank.train.run import prepare_run

    cfg = tmp_path / "c.yaml"
    cfg.write_text(yaml.safe_dump({"env": TINY["env"], "train": {"lr_schedule": "linear"}}))
    with pytest.raises(ConfigError, match="only the sb3 backend has a learning-rate schedule"):
        prepare_run(cfg, tmp_path / "r", False, {}, "test", backend="rllib")
    assert not (tmp_path / "r").exists()


def test_device_cuda_without_a_gpu_is_one_line_and_writes_no_run_folder(tmp_path, capsys, monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    cfg = tmp_path / "tiny.yaml"
    cfg.write_text(yaml.safe_dump(TINY))
    with pytest.raises(SystemExit) as exit_:
        main(["train", "--config", str(cfg), "--out", str(tmp_path / "r"), "--device", "cuda", "--no-progress"])
    assert exit_.value.code == 2
    assert capsys.readouterr().err == "interbank: --device cuda: no CUDA device is available here (use --device cpu or auto)\n"
    assert not (tmp_path / "r").exists()  # so the same command with --device cpu is not told the run exists


def test_a_scenario_without_a_train_section_says_it_trained_on_the_built_in_settings(tmp_path, capsys):
    cfg = tmp_path / "scenario.yaml"
    cfg.write_text(yaml.safe_dump({"env": {"n_banks": 4, "max_steps": 5}}))
    assert main(["train", "--config", str(cfg), "--out", str(tmp_path / "run"), "--timesteps", "64", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert f"built-in: {cfg} has no train: section" in out
    with_section = tmp_path / "with.yaml"
    with_section.write_text(yaml.safe_dump(TINY))
    assert main(["train", "--config", str(with_section), "--out", str(tmp_path / "run2"), "--timesteps", "64",
                 "--no-progress"]) == 0
    assert "no train: section" not in capsys.readouterr().out


def _unchanged(out):
    """What a refused or idle --resume must leave as it was."""
    return ((out / "config.yaml").read_text(), (out / "command.txt").read_text(),
            sorted(p.name for p in (out / "checkpoints").iterdir()))


def test_resume_refuses_a_config_that_differs_from_the_runs_own(run, tmp_path, capsys):
    cfg, trained = run
    out = copy_run(trained, tmp_path / "run")
    before = _unchanged(out)
    with pytest.raises(SystemExit) as exit_:
        main(["train", "--config", "configs/stress.yaml", "--resume", "--out", str(out), "--no-progress"])
    assert exit_.value.code == 2
    assert capsys.readouterr().err == (f"interbank: --resume: --config configs/stress.yaml differs from {out / 'config.yaml'} "
                                       "at env.n_banks; a run continues under its own config (leave --config out, "
                                       "or train a new run into another --out)\n")
    other = tmp_path / "other.yaml"
    other.write_text(yaml.safe_dump({**TINY, "train": {**TINY["train"], "n_epochs": 3}}))
    with pytest.raises(SystemExit):
        main(["train", "--config", str(other), "--resume", "--out", str(out), "--no-progress"])
    assert "differs from" in capsys.readouterr().err and _unchanged(out) == before
    # its own file (the command that made it, with --resume) is accepted: here at its budget, nothing to train
    assert main(["train", "--config", str(cfg), "--resume", "--out", str(out), "--no-progress"]) == 0


def test_resume_refuses_a_seed_other_than_the_runs(run, tmp_path, capsys):
    _, trained = run
    out = copy_run(trained, tmp_path / "run")
    before = _unchanged(out)
    with pytest.raises(SystemExit) as exit_:
        main(["train", "--resume", "--seed", "5", "--timesteps", "2000", "--out", str(out), "--no-progress"])
    assert exit_.value.code == 2
    assert capsys.readouterr().err == (f"interbank: --resume: {out} trains with seed 0; --seed 5 cannot change a run "
                                       "under way (leave --seed out, or train a new run into another --out)\n")
    assert _unchanged(out) == before


def test_resume_at_or_past_the_budget_says_nothing_was_trained_and_writes_nothing(run, tmp_path, capsys):
    _, trained = run
    out = copy_run(trained, tmp_path / "run")
    before = _unchanged(out)
    step = newest(out)
    assert main(["train", "--resume", "--seed", "0", "--timesteps", "100", "--out", str(out), "--no-progress"]) == 0
    assert capsys.readouterr().out == (f"nothing to train: {out} is already at {step:,} bank-decisions (budget 100); "
                                       f"give --timesteps above {step} to continue it\n")
    assert _unchanged(out) == before


def test_the_default_run_folder_is_named_after_the_config_and_its_seed():
    from interbank.train.run import resolve_run

    no_flags = {"total_timesteps": None, "seed": None, "device": None}
    assert resolve_run(Path("configs/train/smoke.yaml"), None, False, no_flags)[0] == Path("runs/smoke-s0")  # not -sNone
    assert resolve_run(Path("configs/train/smoke.yaml"), None, False, {**no_flags, "seed": 4})[0] == Path("runs/smoke-s4")


def _train_config(tmp_path, train):
    path = tmp_path / "cfg.yaml"
    path.write_text(yaml.safe_dump({"env": {"n_banks": 4, "max_steps": 5}, "train": train}))
    return path


@pytest.mark.parametrize("train, flag, backend", [
    ({"backend": "rllib"}, None, "rllib"),  # the config's choice, not a silent sb3
    ({"algorithm": "rllib_ppo"}, None, "rllib"),  # the algorithm names its backend
    ({"backend": "rllib", "algorithm": "rllib_ppo"}, None, "rllib"),  # a copied rllib run's config
    ({"backend": "rllib"}, "sb3", "sb3"),  # the flag wins over the file
    ({"n_steps": 8}, None, "sb3"),  # neither named: sb3
])
def test_a_training_config_picks_its_backend_unless_the_flag_does(tmp_path, train, flag, backend):
    from interbank.train.run import resolve_backend

    assert resolve_backend(flag, False, None, _train_config(tmp_path, train)) == backend


def test_train_runs_the_backend_its_config_names(tmp_path, monkeypatch, capsys):
    """``train --config`` with ``train.backend: rllib`` goes to the RLlib trainer (it went to sb3, silently)."""
    from interbank.config import ConfigError
    from interbank.train import rllib_backend

    called = []

    def fake_train_rllib(config, out, *args):
        called.append(config)
        raise ConfigError("stop here")

    monkeypatch.setattr(rllib_backend, "train_rllib", fake_train_rllib)
    path = _train_config(tmp_path, {"backend": "rllib"})
    with pytest.raises(SystemExit):
        main(["train", "--config", str(path), "--out", str(tmp_path / "r"), "--no-progress"])
    assert called == [path] and "stop here" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_:
        main(["train", "--config", str(path), "--seeds", "0,1", "--out", str(tmp_path / "s"), "--no-progress"])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and f"{path} asks for rllib: run it once per --seed" in err and err.count("\n") == 1, err

"""The ``train:`` section's checks: a network the checkpoint loader would refuse, or one too large to
build, is refused before anything is written."""

import pytest
import yaml

from interbank.cli import main
from interbank.config import ConfigError
from interbank.run_folder import MAX_HIDDEN
from interbank.train.config import MAX_POLICY_PARAMETERS, parse_train_config, policy_parameters
from tests.conftest import TINY_TRAIN as TINY


def _train(tmp_path, capsys, train):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(yaml.safe_dump({"env": TINY["env"], "train": {**TINY["train"], **train}}))
    out = tmp_path / "run"
    with pytest.raises(SystemExit) as exit_:
        main(["train", "--config", str(cfg), "--out", str(out), "--no-progress"])
    assert exit_.value.code == 2 and not out.exists()
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and err.startswith(f"interbank: {cfg}: train.net_arch")
    return err


@pytest.mark.parametrize("net_arch, says", [
    ([0], "train.net_arch[0] = 0 must be >= 1"),
    ([64, -3], "train.net_arch[1] = -3 must be >= 1"),
    ([MAX_HIDDEN + 1], f"train.net_arch[0] = {MAX_HIDDEN + 1} must be <= {MAX_HIDDEN}"),
    ([100_000, 100_000], "train.net_arch[0] = 100000 must be <= 65536"),
])
def test_layer_widths_the_checkpoint_loader_refuses_are_refused_before_training(tmp_path, capsys, net_arch, says):
    assert _train(tmp_path, capsys, {"net_arch": net_arch}).endswith(says)


def test_a_policy_with_too_many_parameters_is_refused_before_anything_is_written(tmp_path, capsys):
    err = _train(tmp_path, capsys, {"net_arch": [60_000, 60_000]})
    assert f"makes a policy of {policy_parameters([60_000, 60_000]):,} parameters" in err
    assert f"more than {MAX_POLICY_PARAMETERS:,}" in err


def test_the_largest_widths_in_a_shallow_net_and_real_recipes_stay_allowed():
    for arch in ([MAX_HIDDEN], [2048, 2048, 2048], [64, 64]):
        for critic in ("local", "central"):
            assert parse_train_config({"train": {"net_arch": arch, "critic": critic}}, "t").train.net_arch == arch
    with pytest.raises(ConfigError, match="parameters"):
        parse_train_config({"train": {"net_arch": [4096] * 4}}, "t")


@pytest.mark.parametrize("critic", ["local", "central"])
def test_the_parameter_count_is_the_built_policys(tmp_path, critic):
    from interbank.train.run import build_model
    from interbank.train.vec_env import BankVecEnv

    cfg = parse_train_config({"env": TINY["env"], "train": {**TINY["train"], "net_arch": [16, 8], "critic": critic}}, "t")
    vec = BankVecEnv(cfg.env, 1, 0, global_state=critic == "central")
    try:
        model = build_model(cfg, vec, tmp_path)
        assert policy_parameters([16, 8], critic) == sum(p.numel() for p in model.policy.parameters())
    finally:
        vec.close()


def test_a_policy_that_cannot_be_built_is_one_line_and_leaves_no_run_folder(tmp_path, capsys, monkeypatch):
    import interbank.train.run as run

    def no_memory(*args, **kwargs):
        raise RuntimeError("[enforce fail at alloc_cpu.cpp:117] data. DefaultCPUAllocator: can't allocate memory\nmore")

    monkeypatch.setattr(run, "build_model", no_memory)
    err = _train(tmp_path, capsys, {})
    assert err.endswith("train.net_arch = [16, 16]: cannot build the policy here ([enforce fail at alloc_cpu.cpp:117] "
                        "data. DefaultCPUAllocator: can't allocate memory); use narrower layers")
    monkeypatch.undo()
    # nothing half-made: the same command trains
    cfg = tmp_path / "c.yaml"
    assert main(["train", "--config", str(cfg), "--out", str(tmp_path / "run"), "--no-progress", "--timesteps", "96"]) == 0


def test_a_config_whose_algorithm_is_the_other_backends_is_refused_in_one_line():
    with pytest.raises(ConfigError, match="train.algorithm = rllib_ppo is not what the sb3 backend runs") as err:
        parse_train_config({"train": {"backend": "sb3", "algorithm": "rllib_ppo"}}, "c.yaml")
    assert "\n" not in str(err.value)
    assert parse_train_config({"train": {"backend": "rllib", "algorithm": "rllib_ppo"}}, "c.yaml").train.backend == "rllib"


def test_env_workers_are_held_to_the_command_lines_bound():
    """As ``--workers``: a config cannot start more worker processes than a flag can."""
    from interbank.config import MAX_WORKERS

    assert parse_train_config({"train": {"env_workers": MAX_WORKERS, "n_envs": MAX_WORKERS}}, "c.yaml")
    with pytest.raises(ConfigError, match=f"train.env_workers = {MAX_WORKERS + 1} must be <= {MAX_WORKERS}"):
        parse_train_config({"train": {"env_workers": MAX_WORKERS + 1, "n_envs": 256}}, "c.yaml")

"""train.env_workers: the env copies stepped in worker processes give the same run as one process."""

import copy
import json

import numpy as np
import pytest
import yaml
from safetensors.numpy import load_file

from interbank.cli import main
from interbank.train.config import parse_train_config
from interbank.train.run import train
from interbank.train.vec_env import BankVecEnv
from interbank.train.worker_vec_env import WorkerBankVecEnv, _groups
from tests.conftest import TINY_TRAIN


def _run(tmp_path, name: str, **train_keys) -> dict[str, np.ndarray]:
    cfg = copy.deepcopy(TINY_TRAIN)
    cfg["train"].update({"n_envs": 3, "total_timesteps": 864, "checkpoint_every": 10**6, **train_keys})
    (tmp_path / f"{name}.yaml").write_text(yaml.safe_dump(cfg))
    result = train(tmp_path / f"{name}.yaml", tmp_path / name, progress=False, command="test")
    return load_file(str(result.checkpoint / "policy.safetensors")), result


@pytest.mark.parametrize("extra", [{}, {"critic": "central"}], ids=["local-critic", "central-critic"])
def test_training_gives_the_same_weights_with_one_or_two_env_workers(tmp_path, extra):
    one, r1 = _run(tmp_path, "one", env_workers=1, **extra)
    two, r2 = _run(tmp_path, "two", env_workers=2, **extra)
    assert one.keys() == two.keys()
    for key in one:
        np.testing.assert_array_equal(one[key], two[key], err_msg=key)
    assert r1.episodes == r2.episodes > 0
    assert json.dumps(r1.last_stats) == json.dumps(r2.last_stats)  # NaN where a priority never came up


def test_worker_slots_step_exactly_as_the_in_process_copies():
    cfg = parse_train_config(TINY_TRAIN, "test")
    here, there = BankVecEnv(cfg.env, 3, 5), WorkerBankVecEnv(cfg.env, 3, 5, workers=2)
    try:
        here.seed(11), there.seed(11)
        np.testing.assert_array_equal(here.reset(), there.reset())
        rng = np.random.default_rng(0)
        for _ in range(45):  # past the 20-step episode end: copies reset inside the step
            masks = here.action_masks()
            np.testing.assert_array_equal(masks, there.action_masks())
            acts = np.argmax(masks * rng.random(masks.shape), axis=1)
            a, b = here.step(acts), there.step(acts)
            for x, y in zip(a[:3], b[:3]):
                np.testing.assert_array_equal(x, y)
            assert [set(i) for i in a[3]] == [set(i) for i in b[3]]
            np.testing.assert_array_equal(here.acted_padding, there.acted_padding)
        assert json.dumps(list(here.episode_stats)) == json.dumps(list(there.episode_stats))  # NaN: a priority never came up
        assert there.episodes_finished == here.episodes_finished > 0
        assert here.get_attr("possible_agents", [0]) == there.get_attr("possible_agents", [0])
    finally:
        here.close(), there.close()
    assert not any(p.is_alive() for p in there._procs)


def test_copies_are_split_into_contiguous_groups():
    assert _groups(16, 2) == [range(0, 8), range(8, 16)]
    assert _groups(5, 3) == [range(0, 2), range(2, 4), range(4, 5)]


@pytest.mark.parametrize("keys, message", [
    ({"env_workers": 3, "n_envs": 2}, "train.env_workers = 3 is more than train.n_envs (2)"),
    ({"env_workers": 2, "opponents": {"fraction": 0.25}}, "train.env_workers: the opponent pool"),
])
def test_env_workers_that_cannot_run_are_one_line_and_write_nothing(tmp_path, capsys, keys, message):
    cfg = copy.deepcopy(TINY_TRAIN)
    cfg["train"].update(keys)
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(cfg))
    with pytest.raises(SystemExit):
        main(["train", "--config", str(tmp_path / "c.yaml"), "--out", str(tmp_path / "r"), "--no-progress"])
    err = capsys.readouterr().err.strip()
    assert err.startswith("interbank: ") and message in err and "\n" not in err
    assert not (tmp_path / "r").exists()


def test_an_error_in_a_worker_is_raised_in_the_main_process_and_the_workers_go_on():
    from interbank.train.worker_vec_env import WorkerError

    cfg = parse_train_config(TINY_TRAIN, "test")
    vec = WorkerBankVecEnv(cfg.env, 2, 0, workers=2)
    try:
        vec.reset()
        with pytest.raises(WorkerError, match=r"env worker for copies 0-0: AttributeError: .*no_such_method"):
            vec.env_method("no_such_method")
        with pytest.raises(AttributeError, match="no_such_field"):
            vec.get_attr("no_such_field")
        obs, rewards, dones, _ = vec.step(np.full(vec.num_envs, 4))  # HOLD everywhere: still in step
        assert obs.shape == (vec.num_envs, vec.observation_space.shape[0]) and not dones.any()
    finally:
        vec.close()

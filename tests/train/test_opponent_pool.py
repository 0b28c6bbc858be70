"""The opponent pool: frozen past snapshots play part of each copy's banks, loaded safely, logged."""

import copy
import pickle

import numpy as np
import pytest
import yaml

from interbank.config import ConfigError
from interbank.policies.checkpoint import load_policy
from interbank.train.config import parse_train_config
from interbank.train.pool import POOL, OpponentPool, pool_size
from interbank.train.run import train
from interbank.train.vec_env import BankVecEnv
from tests.conftest import TINY_TRAIN

POOLED = copy.deepcopy(TINY_TRAIN)
POOLED["train"].update({"total_timesteps": 1152, "checkpoint_every": 10**6,
                        "opponents": {"fraction": 0.34, "snapshot_every": 288, "max_size": 2}})


@pytest.fixture(scope="module")
def pooled_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("pool")
    (tmp / "c.yaml").write_text(yaml.safe_dump(POOLED))
    result = train(tmp / "c.yaml", tmp / "run", progress=False, command="test")
    return result, tmp / "run"


def test_pool_snapshots_are_safe_checkpoints_and_the_pool_keeps_the_newest(pooled_run):
    _, out = pooled_run
    steps = sorted(int(p.name) for p in (out / POOL / "checkpoints").iterdir())
    assert len(steps) == 2 and steps[-1] >= 864  # a snapshot every 288 decisions, the newest 2 kept
    folder = out / POOL / "checkpoints" / str(steps[-1])
    assert {p.name for p in folder.iterdir()} == {"policy.safetensors", "policy.json"}


def test_pool_snapshots_load_without_pickle_or_torch_load(pooled_run, monkeypatch):
    import torch

    def refuse(*args, **kwargs):
        raise AssertionError("the pool must not unpickle anything")

    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "loads", refuse)
    monkeypatch.setattr(torch, "load", refuse)
    _, out = pooled_run
    pool = OpponentPool(out / POOL, max_size=5)
    pool.load()
    assert len(pool.snapshots) == 2
    step, policy = pool.snapshots[-1]
    assert policy.name == f"pool@{step}"


def test_each_copys_opponents_are_recorded_in_tensorboard(pooled_run):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    _, out = pooled_run
    (events,) = list((out / "tb").rglob("events.out.tfevents.*"))
    acc = EventAccumulator(str(events))
    acc.Reload()
    tags = set(acc.Tags()["scalars"])
    assert {"pool/size", "pool/newest_step", "pool/opponent_step/env0", "pool/opponent_step/env1", "pool/opponent_age"} <= tags
    assert "interbank/pool_return" in tags
    played = {e.value for e in acc.Scalars("pool/opponent_step/env0")}
    sizes = [e.value for e in acc.Scalars("pool/size")]
    assert played and all(v % 288 == 0 for v in played)
    assert max(sizes) == 2


def test_pool_banks_act_by_their_frozen_snapshot_and_never_train(pooled_run):
    _, out = pooled_run
    cfg = parse_train_config(POOLED, "test")
    pool = OpponentPool(out / POOL, max_size=5)
    pool.load()
    vec = BankVecEnv(cfg.env, 2, seed=5)
    vec.attach_pool(pool, pool_size(0.34, cfg.env.n_banks), seed=5)
    obs = vec.reset()
    assert vec.pool_slot.sum() == 2 * 2 and vec.pool_slot[:6].sum() == 2
    learner_actions = np.full(vec.num_envs, 4)  # the learner asks every slot to HOLD
    for _ in range(5):
        snapshot_actions = {}
        for k, env in enumerate(vec.envs):
            _, policy = vec.opponent[k]
            slots = np.flatnonzero(vec.pool_slot[k * 6:(k + 1) * 6] & ~vec.padding[k * 6:(k + 1) * 6])
            snapshot_actions[k] = (slots, policy.act(env.observation_array()[slots], env.action_mask_array()[slots]))
        vec.step_async(learner_actions)
        obs, _, dones, _ = vec.step_wait()
        assert not dones.any()
        assert vec.acted_padding[vec.pool_slot].all()  # the rollout buffer drops these samples
        for k, env in enumerate(vec.envs):
            slots, expected = snapshot_actions[k]
            executed = env.system.last_outcome.executed
            assert np.array_equal(executed[slots], expected)
            learners = np.setdiff1d(np.arange(6), slots)
            assert (executed[learners] == 4).all()
        assert (np.array(list(snapshot_actions[0][1]) + list(snapshot_actions[1][1])) != 4).any()
    vec.close()


def test_a_resumed_run_reloads_its_pool(pooled_run, tmp_path):
    import shutil

    _, out = pooled_run
    copy_ = tmp_path / "run"
    shutil.copytree(out, copy_)
    before = sorted(p.name for p in (copy_ / POOL / "checkpoints").iterdir())
    result = train(None, copy_, timesteps=1440, resume=True, progress=False, command="test")
    after = sorted(int(p.name) for p in (copy_ / POOL / "checkpoints").iterdir())
    assert result.timesteps >= 1440 and after[-1] > int(before[-1]) and len(after) == 2


def test_pool_settings_are_checked_in_one_line():
    bad = copy.deepcopy(POOLED)
    bad["train"]["opponents"]["fraction"] = 1.0
    with pytest.raises(ConfigError, match="train.opponents.fraction"):
        parse_train_config(bad, "x.yaml")


def test_pool_size_is_at_least_one_bank_and_never_all():
    assert pool_size(0.0, 20) == 0
    assert pool_size(0.01, 20) == 1
    assert pool_size(0.25, 20) == 5
    assert pool_size(0.99, 4) == 3
    assert pool_size(0.5, 1) == 0


def test_snapshot_checkpoint_plays_like_a_trained_checkpoint(pooled_run):
    result, out = pooled_run
    newest = max((out / POOL / "checkpoints").iterdir(), key=lambda p: int(p.name))
    policy = load_policy(newest)
    assert policy.logits(np.zeros((1, 27), np.float32)).shape == (1, 5)


def test_pool_banks_samples_are_left_out_of_the_ppo_update(pooled_run, tmp_path):
    from stable_baselines3.common.callbacks import BaseCallback

    from interbank.train.run import build_model

    _, out = pooled_run
    cfg = parse_train_config(POOLED, "test")
    pool = OpponentPool(out / POOL, max_size=5)
    pool.load()
    vec = BankVecEnv(cfg.env, 2, seed=3)
    vec.attach_pool(pool, pool_size(0.34, cfg.env.n_banks), seed=3)
    model = build_model(cfg, vec, tmp_path)
    model.rollout_buffer.padding_source = vec
    flagged: list[np.ndarray] = []

    class Watch(BaseCallback):
        def _on_step(self) -> bool:
            flagged.append(vec.acted_padding.copy())
            return True

        def _on_rollout_end(self) -> None:
            buf = self.model.rollout_buffer
            assert np.array_equal(buf.padding, np.array(flagged))
            assert (buf.padding.sum(axis=1) >= 4).all()  # 2 pool banks in each of 2 copies, every step
            assert buf.real_samples == (~buf.padding).sum() < buf.padding.size

    model.learn(total_timesteps=288, callback=Watch())
    vec.close()

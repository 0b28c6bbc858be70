"""Training the banks and the central bank: a tiny two-policy run saves both as safe checkpoints
and loads them back."""

import json

import numpy as np
import pytest
import yaml

from interbank.envs import parallel_env
from interbank.envs.central_bank_observation import central_bank_cost
from interbank.policies.central_bank import CentralBankMLP, load_central_bank_policy
from interbank.policies.checkpoint import CheckpointError, load_policy
from interbank.sim.central_bank import N_CB_ACTIONS
from interbank.train.central_bank import CentralBankGymEnv, CentralBankSettings, train_both

TINY = {
    "env": {"n_banks": 6, "max_steps": 20, "seed": 0},
    "train": {"total_timesteps": 480, "n_envs": 1, "n_steps": 20, "batch_size": 60, "n_epochs": 1,
              "checkpoint_every": 480, "net_arch": [8], "seed": 0, "device": "cpu"},
}


@pytest.fixture(scope="module")
def two_policy_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("both")
    cfg = root / "tiny.yaml"
    cfg.write_text(yaml.safe_dump(TINY))
    out = root / "run"
    settings = CentralBankSettings(timesteps=64, n_steps=32, batch_size=32, n_epochs=1, net_arch=(8,))
    banks, central_bank = train_both(cfg, out, rule="taylor", central_bank=settings)
    return out, banks, central_bank


def test_a_two_policy_run_holds_both_policies_as_safe_files(two_policy_run):
    out, banks, central_bank = two_policy_run
    for folder in (banks, central_bank):
        assert sorted(p.name for p in folder.iterdir() if not p.name.startswith("trainer")) == ["policy.json", "policy.safetensors"]
    curriculum = json.loads((out / "curriculum.json").read_text())
    assert [p["learns"] for p in curriculum["phases"]] == ["banks", "central_bank"]
    assert yaml.safe_load((out / "banks" / "config.yaml").read_text())["env"]["central_bank"]["rule"] == "taylor"
    assert not list(out.rglob("*.zip")) and not list(out.rglob("*.pkl"))


def test_both_policies_reload_and_play_an_episode(two_policy_run):
    out, _, _ = two_policy_run
    banks = load_policy(out / "banks")
    central_bank = load_central_bank_policy(out / "central_bank")
    assert isinstance(central_bank, CentralBankMLP)
    env = parallel_env(n_banks=6, max_cycles=15, **{"central_bank.agent": True})
    env.central_bank_policy = central_bank
    env.reset(seed=1)
    moves = []
    from interbank.policies.base import batch_actions
    while env.agents:
        obs, mask = env.central_bank_agent.obs, env.central_bank_agent.mask
        move = central_bank(obs, mask)
        assert mask[move] and 0 <= move < N_CB_ACTIONS
        batch = env.step_batch(batch_actions(banks, env))
        moves.append(batch.central_bank.action)
        assert not batch.central_bank.invalid
    assert len(moves) == 15


def test_each_loader_refuses_the_other_policy(two_policy_run):
    out, _, _ = two_policy_run
    with pytest.raises(CheckpointError, match="not a central bank policy"):
        load_central_bank_policy(out / "banks")
    with pytest.raises(CheckpointError, match="features"):
        load_policy(out / "central_bank")


def test_the_central_bank_env_pays_its_reward_and_respects_its_mask():
    from interbank.config import EnvConfig
    from interbank.policies import make_policy

    env = CentralBankGymEnv(EnvConfig(n_banks=6, max_steps=10), make_policy("heuristic"), seed=0, reward_scale=1.0)
    obs, _ = env.reset(seed=3)
    assert env.observation_space.contains(obs)
    total, done = 0.0, False
    welfare0 = env.env.system.welfare()
    while not done:
        mask = env.action_masks()
        obs, reward, terminated, truncated, info = env.step(int(np.flatnonzero(mask)[-1]))
        total += reward
        done = terminated or truncated
        assert not info["invalid_action"]
    s = env.env.system
    assert truncated and total == pytest.approx(s.welfare() - welfare0 - central_bank_cost(s))

"""Training the banks and the central bank: a tiny two-policy run saves both as safe checkpoints
and loads them back."""

import json

import numpy as np
import pytest
import yaml

from interbank.config import ConfigError
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


# ------------------------------------------------------------------ more rounds, annealing, resume
SMALL_CB = CentralBankSettings(timesteps=64, n_steps=32, batch_size=32, n_epochs=1, net_arch=(8,), ent_coef=0.04,
                               ent_coef_final=0.0)


@pytest.fixture(scope="module")
def two_round_run(tmp_path_factory):
    import interbank.train.run as run_module

    root = tmp_path_factory.mktemp("rounds")
    cfg = root / "tiny.yaml"
    cfg.write_text(yaml.safe_dump(TINY))
    seen = []
    original = run_module.train

    def spy(*args, **kwargs):
        seen.append(kwargs.get("central_bank_policy"))
        return original(*args, **kwargs)

    mp = pytest.MonkeyPatch()
    mp.setattr(run_module, "train", spy)
    try:
        train_both(cfg, root / "run", rule="taylor", central_bank=SMALL_CB, rounds=2)
    finally:
        mp.undo()
    return root / "run", seen


def test_each_round_trains_the_banks_then_the_central_bank_and_keeps_both_checkpoints(two_round_run):
    out, _ = two_round_run
    plan = json.loads((out / "curriculum.json").read_text())
    assert [(d["round"], d["learns"]) for d in plan["done"]] == [
        (1, "banks"), (1, "central_bank"), (2, "banks"), (2, "central_bank")]
    # the banks' budget (480) is split over the rounds; the central bank has its budget per round
    assert sorted(int(p.name) for p in (out / "banks" / "checkpoints").iterdir()) == [240, 480]
    assert sorted(int(p.name) for p in (out / "central_bank" / "checkpoints").iterdir()) == [64, 128]


def test_later_rounds_train_the_banks_under_the_learned_central_bank(two_round_run):
    _, seen = two_round_run
    assert seen[0] is None  # round 1: the rule of the config
    assert isinstance(seen[1], CentralBankMLP)


def test_the_central_bank_entropy_bonus_is_annealed_over_its_rounds(two_round_run):
    out, _ = two_round_run
    first, second = (json.loads((out / "central_bank" / "checkpoints" / str(s) / "policy.json").read_text())["train"]
                     for s in (64, 128))
    assert first["ent_coef"] == pytest.approx([0.04, 0.02])
    assert second["ent_coef"] == pytest.approx([0.02, 0.0])
    assert (first["round"], second["round"]) == (1, 2)


def test_entropy_schedule_runs_linearly_from_start_to_end():
    from interbank.train.central_bank import EntropySchedule

    s = EntropySchedule(start=0.1, end=0.0, done=50, total=100)
    assert s.at(0) == pytest.approx(0.05) and s.at(25) == pytest.approx(0.025) and s.at(500) == pytest.approx(0.0)


def test_an_interrupted_two_policy_run_resumes_where_it_stopped(tmp_path, monkeypatch):
    import interbank.train.central_bank as both

    cfg = tmp_path / "tiny.yaml"
    cfg.write_text(yaml.safe_dump(TINY))
    out = tmp_path / "run"
    original = both.train_central_bank

    def crash_in_round_2(*args, round_=1, **kwargs):
        if round_ == 2:
            raise KeyboardInterrupt
        return original(*args, round_=round_, **kwargs)

    monkeypatch.setattr(both, "train_central_bank", crash_in_round_2)
    with pytest.raises(KeyboardInterrupt):
        train_both(cfg, out, rule="never", central_bank=SMALL_CB, rounds=2)
    assert len(json.loads((out / "curriculum.json").read_text())["done"]) == 3
    calls = []

    def count(*args, **kwargs):
        calls.append(kwargs.get("round_"))
        return original(*args, **kwargs)

    monkeypatch.setattr(both, "train_central_bank", count)
    banks, central_bank = train_both(None, out, resume=True)
    assert calls == [2]  # only the phase left is run again
    assert (banks.name, central_bank.name) == ("480", "128")
    assert len(json.loads((out / "curriculum.json").read_text())["done"]) == 4
    with pytest.raises(ConfigError, match="--resume"):
        train_both(cfg, out, rounds=2)


def test_resume_needs_a_two_policy_run(tmp_path):
    with pytest.raises(ConfigError, match="not a two-policy run"):
        train_both(None, tmp_path, resume=True)


def _tiny(tmp_path, **train):
    data = yaml.safe_load(yaml.safe_dump(TINY))
    data["train"].update(train)
    cfg = tmp_path / "tiny.yaml"
    cfg.write_text(yaml.safe_dump(data))
    return cfg


@pytest.mark.parametrize("train, rounds, words", [
    ({"env_workers": 3, "n_envs": 2}, 1, "more than train.n_envs"),
    ({"env_workers": 2, "n_envs": 2}, 2, "from round 2 the banks learn under the learned central bank"),
])
def test_a_refused_two_policy_run_writes_nothing(tmp_path, train, rounds, words):
    out = tmp_path / "run"
    with pytest.raises(ConfigError, match=words):
        train_both(_tiny(tmp_path, **train), out, rule="taylor", central_bank=SMALL_CB, rounds=rounds)
    assert not out.exists()  # so the same command, fixed, is not told the folder holds a run


def test_the_banks_of_a_two_policy_run_train_with_the_seed_given(tmp_path, monkeypatch):
    import interbank.train.run as run_module

    def stop(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(run_module, "train", stop)
    out = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        train_both(_tiny(tmp_path), out, rule="never", central_bank=SMALL_CB, seed=7)
    assert yaml.safe_load((out / "banks-config.yaml").read_text())["train"]["seed"] == 7


def test_a_two_policy_run_is_not_written_into_a_one_policy_run(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "config.yaml").write_text("train: {}\n")
    with pytest.raises(ConfigError, match="already holds a one-policy run"):
        train_both(_tiny(tmp_path), out, rule="taylor", central_bank=SMALL_CB)
    assert sorted(p.name for p in out.iterdir()) == ["config.yaml"]


def test_a_later_round_of_the_central_bank_trains_from_the_largest_seed(tmp_path):
    """Round r seeds its PPO with seed + r - 1: from the largest seed a command takes that was past
    what stable-baselines3's seeding accepts (a ValueError from numpy after the banks had trained)."""
    from interbank.config import MAX_SEED, resolve_env_config
    from interbank.policies import make_policy
    from interbank.train.central_bank import train_central_bank

    settings = CentralBankSettings(timesteps=32, n_steps=32, batch_size=32, n_epochs=1, net_arch=(8,), seed=MAX_SEED)
    checkpoint = train_central_bank(resolve_env_config(n_banks=4, max_steps=10, seed=0), make_policy("heuristic"),
                                    tmp_path / "central_bank", settings, round_=2)
    assert (checkpoint / "policy.safetensors").is_file()

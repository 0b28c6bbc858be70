"""Warm start (behaviour cloning of a reference rule before PPO)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from interbank.cli import main
from interbank.envs.observation import N_FEATURES
from interbank.train.config import parse_train_config
from interbank.train.run import build_model
from interbank.train.vec_env import BankVecEnv
from interbank.train.warm_start import collect, pretrain

# little cash above the requirement, so that lend_surplus(1.5) lends, calls and holds in turn (a rule
# that did one thing nearly always would be matched by any constant network)
ENV = {"n_banks": 8, "max_steps": 30, "generation": {"leverage_low": 10, "leverage_high": 16},
       "balance_sheet": {"book_share": 0.78}, "deposit_flows": {"volatility": 0.06}, "seed": 0}


class _ScriptedVec:
    """Two slots, four steps: known rewards and episode ends; slot 1 is padding at step 3."""

    num_envs = 2
    rewards = np.array([[1.0, 2.0], [1.0, 0.0], [1.0, 0.0], [1.0, 0.0]], np.float32)
    dones = np.array([[False, False], [True, False], [False, True], [False, False]])

    def __init__(self) -> None:
        self.t = 0
        self.padding = np.zeros(2, bool)

    def reset(self):
        self.t = 0
        return np.zeros((2, N_FEATURES), np.float32)

    def action_masks(self):
        return np.ones((2, 5), bool)

    def step(self, actions):
        r, d = self.rewards[self.t], self.dones[self.t]
        self.t += 1
        self.padding = np.array([False, self.t == 3])
        return np.full((2, N_FEATURES), self.t, np.float32), r, d, [{}, {}]


def test_returns_are_discounted_to_each_episode_end_and_padding_is_dropped():
    demos = collect(_ScriptedVec(), "lend_surplus", {"c": 1.5}, 4, 0.5)
    # slot 0: episode ends after step 1 -> returns 1 + 0.5 * 1, 1; then 1 + 0.5 * 1, 1 (cut at the end)
    # slot 1: 2 + 0.5 * (0 + 0.5 * 0) = 2, 0, 0; step 3 is padding and is left out
    assert demos.returns.tolist() == pytest.approx([1.5, 2.0, 1.0, 0.0, 1.5, 0.0, 1.0])
    assert demos.observations[:, 0].tolist() == [0, 0, 1, 1, 2, 2, 3]


def _fresh_model(tmp_path: Path):
    """(config, 2-copy vec env, an untrained MaskablePPO model) on the test scenario."""
    cfg = parse_train_config({"env": ENV, "train": {"n_envs": 2, "net_arch": [32, 32], "device": "cpu", "seed": 0}},
                             "test")
    vec = BankVecEnv(cfg.env, 2, seed=0)
    return cfg, vec, build_model(cfg, vec, tmp_path)


def test_cloned_policy_acts_like_the_rule_on_states_it_has_not_seen(tmp_path: Path):
    cfg, vec, model = _fresh_model(tmp_path)
    train = collect(vec, "lend_surplus", {"c": 1.5}, 240, 0.99)
    stats = pretrain(model, train, epochs=100, batch_size=256, smoothing=0.1, seed=0)
    assert stats["warm_start_accuracy"] > 0.9
    fresh = collect(BankVecEnv(cfg.env, 2, seed=99), "lend_surplus", {"c": 1.5}, 60, 0.99)
    acts, _ = model.predict(fresh.observations, action_masks=fresh.masks, deterministic=True)
    assert np.mean(acts == fresh.actions) > 0.85
    rule_lends = np.mean(fresh.actions == 0)
    assert rule_lends > 0.1 and abs(np.mean(acts == 0) - rule_lends) < 0.1


def test_an_untrained_policy_does_not_pass_for_the_rule(tmp_path: Path):
    """The accuracy above is not free: a fresh network agrees with the rule far less often."""
    _, vec, model = _fresh_model(tmp_path)
    fresh = collect(vec, "lend_surplus", {"c": 1.5}, 60, 0.99)
    acts, _ = model.predict(fresh.observations, action_masks=fresh.masks, deterministic=True)
    assert np.mean(acts == fresh.actions) < 0.8


@pytest.mark.parametrize("section, message", [
    ({"policy": "lend_everything"}, "unknown rule 'lend_everything'; choose one of"),
    ({"policy": "random"}, "unknown rule 'random'"),
    ({"policy": "lend_surplus", "params": {"k": 2}}, "policy lend_surplus has no parameter 'k'; it takes c"),
    ({"policy": "lend_surplus", "smoothing": 1.5}, "train.warm_start.smoothing"),
])
def test_bad_warm_start_section_is_one_line_and_writes_nothing(tmp_path, capsys, section, message):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text(yaml.safe_dump({"env": ENV, "train": {"warm_start": section}}))
    with pytest.raises(SystemExit):
        main(["train", "--config", str(cfg), "--out", str(tmp_path / "r"), "--no-progress"])
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err
    assert not (tmp_path / "r").exists()


def test_warm_start_is_refused_for_the_rllib_backend(tmp_path, capsys):
    cfg = tmp_path / "ws.yaml"
    cfg.write_text(yaml.safe_dump({"env": ENV, "train": {"warm_start": {"policy": "lend_surplus"}}}))
    from interbank.config import ConfigError
    from interbank.train.run import prepare_run

    with pytest.raises(ConfigError, match="only the sb3 backend has a warm start"):
        prepare_run(cfg, tmp_path / "r", False, {}, "test", backend="rllib")
    assert not (tmp_path / "r").exists()


def test_a_warm_started_run_records_its_section_and_clone_quality(tmp_path, capsys):
    cfg = tmp_path / "ws.yaml"
    cfg.write_text(yaml.safe_dump({"env": ENV, "train": {
        "total_timesteps": 480, "n_envs": 2, "n_steps": 30, "batch_size": 160, "n_epochs": 1, "net_arch": [16, 16],
        "device": "cpu", "warm_start": {"policy": "lend_surplus", "params": {"c": 1.5}, "steps": 30, "epochs": 2}}}))
    out = tmp_path / "r"
    assert main(["train", "--config", str(cfg), "--out", str(out), "--no-progress"]) == 0
    saved = yaml.safe_load((out / "config.yaml").read_text())
    assert saved["train"]["warm_start"]["policy"] == "lend_surplus"
    assert saved["train"]["warm_start"]["params"] == {"c": 1.5}
    assert "warm start (agreement with the rule)" in capsys.readouterr().out


"""The learned priority model: trains, saves, reloads, refuses misfits, and learns the right priority."""

import json

import numpy as np
import pytest
import yaml

from interbank.cli import main
from interbank.config import resolve_env_config
from interbank.envs.observation import FEATURE_INDEX, N_BASE, base_features
from interbank.envs.priority import LearnedPriority
from interbank.policies.checkpoint import CheckpointError, load_checkpoint, load_priority_model
from interbank.sim.actions import BORROW, DIVEST, HOLD, INVEST, LIQUIDITY, PROFIT
from interbank.train.priority import collect, fit
from tests.train.test_train_run import TINY


class PriorityFollower:
    """A scripted action policy conditioned on the priority in its observation:
    LIQUIDITY calls loans back (or divests), PROFIT invests, STABILITY holds."""

    name = "follower"

    def reset(self, seed=None):
        pass

    def act(self, obs, masks):
        masks = masks.astype(bool)
        prio = np.argmax(obs[:, N_BASE:], axis=1)
        out = np.full(obs.shape[0], HOLD)
        liquidity = prio == LIQUIDITY
        out[liquidity & masks[:, DIVEST]] = DIVEST
        out[liquidity & masks[:, BORROW]] = BORROW
        out[(prio == PROFIT) & masks[:, INVEST]] = INVEST
        return out


def test_a_bank_short_of_cash_is_told_to_favour_liquidity():
    # little cash, regular deposit withdrawals, costly fire sales: liquidity is what keeps a bank whole
    cfg = resolve_env_config(None, **{
        "n_banks": 20, "max_steps": 40,
        "balance_sheet": {"interbank_share": 0.4, "market_share": 0.5, "book_share": 0.3},
        "central_bank": {"enabled": False},  # no lender of last resort: a short bank fire-sells
        "generation": {"leverage_low": 6, "leverage_high": 8},
        "shocks": {"withdrawal_prob": 0.1, "withdrawal_size": 0.1, "crash_prob": 0.0},
        "markets": {"depth_fraction": 2.0, "volatility": 0.01},
        "clearing": {"fire_sale_discount": 0.2},
    })
    x, p, y = collect(cfg, PriorityFollower(), episodes=12, exploration=1.0, hold=3, horizon=8, gamma=0.95, seed=0)
    assert set(np.unique(p)) == {0, 1, 2}  # fully random priorities: every one is tried
    model, _ = fit(x, p, y, ridge=1.0)
    cash = x[:, FEATURE_INDEX["cash_ratio"]]
    short = cash < np.quantile(cash, 0.2)
    picks = model(x[short])
    assert (picks == LIQUIDITY).mean() > 0.6  # chance is 1/3
    assert (picks == LIQUIDITY).mean() > (model(x[~short]) == LIQUIDITY).mean()


@pytest.fixture(scope="module")
def learned_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("learned")
    cfg = root / "tiny.yaml"
    cfg.write_text(yaml.safe_dump({**TINY, "priority_model": {"model": "learned", "episodes": 3, "horizon": 4}}))
    out = root / "run"
    assert main(["train", "--config", str(cfg), "--out", str(out), "--no-progress"]) == 0
    return out


def test_learned_model_is_saved_reloaded_and_deterministic(learned_run):
    policy, priority, folder = load_checkpoint(learned_run)
    assert isinstance(priority, LearnedPriority)
    assert {p.name for p in folder.iterdir()} >= {"priority.safetensors", "priority.json"}
    again = load_priority_model(folder)
    from interbank.envs import parallel_env

    env = parallel_env(n_banks=12)
    env.reset(seed=0)
    feats = base_features(env.system)
    np.testing.assert_array_equal(priority(feats), again(feats))
    np.testing.assert_array_equal(priority.weights, again.weights)


def test_evaluation_compares_priority_models_on_the_same_episodes(learned_run, tmp_path):
    assert main(["evaluate", str(learned_run), "--episodes", "2", "--out", str(tmp_path), "--no-progress"]) == 0
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    names = set(metrics["policies"])
    assert {"trained", "trained/rule_based", "trained/learned", "trained/profit", "trained/liquidity", "trained/stability"} <= names
    assert metrics["priority_model"] == "learned"
    mix = np.array(metrics["policies"]["trained/liquidity"]["priority_mix"])
    np.testing.assert_allclose(mix[:, LIQUIDITY], 1.0)
    assert (tmp_path / "priority_mix.png").is_file()
    assert metrics["policies"]["trained"] == metrics["policies"]["trained/learned"]


def test_a_priority_model_that_does_not_fit_the_env_is_refused(learned_run, tmp_path, capsys):
    import shutil

    bad = tmp_path / "bad"
    shutil.copytree(load_checkpoint(learned_run)[2], bad)
    meta = json.loads((bad / "priority.json").read_text())
    meta["features"] = meta["features"][:-2]
    (bad / "priority.json").write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match=f"priority model reads {N_BASE - 2} features"):
        load_checkpoint(bad)
    with pytest.raises(SystemExit):
        main(["evaluate", str(bad), "--episodes", "1", "--no-progress"])
    assert f"priority model reads {N_BASE - 2} features" in capsys.readouterr().err


def test_replay_of_a_learned_checkpoint_verifies(learned_run, tmp_path):
    events = tmp_path / "run.jsonl"
    assert main(["replay", str(learned_run), "--no-interactive", "--steps", "8", "--events", str(events)]) == 0
    init = json.loads(events.read_text().splitlines()[0])
    assert init["data"]["config"]["run"]["priority_model"] == "learned"
    assert main(["replay", "--events", str(events), "--verify"]) == 0

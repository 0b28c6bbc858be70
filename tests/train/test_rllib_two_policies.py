"""The RLlib backend trains the banks and the central bank as two RLlib policies (its multi-agent
API: bank_* -> banks, central_bank -> central_bank) into the usual two-policy run folder."""

import json
import subprocess
import sys

import numpy as np
import pytest
import yaml

from interbank.cli import main
from tests.deadlines import HANG_S

pytest.importorskip("ray", reason='Ray is an optional extra: pip install -e ".[ray]"')

TINY = {
    "env": {"n_banks": 4, "max_steps": 10, "seed": 0},
    "train": {"total_timesteps": 200, "net_arch": [8], "seed": 0},
    "rllib": {"num_env_runners": 0, "train_batch_size": 100, "minibatch_size": 50, "num_epochs": 1},
}


def test_the_multi_agent_env_maps_banks_and_the_central_bank_to_their_own_policy_and_spaces():
    from interbank.train.rllib_env import policy_of, two_policy_env_class

    env = two_policy_env_class()({"n_banks": 3, "max_steps": 6, "seed": 0})
    obs, _ = env.reset(seed=1)
    assert sorted(obs) == ["bank_0", "bank_1", "bank_2", "central_bank"]
    assert [policy_of(a) for a in sorted(obs)] == ["banks"] * 3 + ["central_bank"]
    assert env.action_spaces["central_bank"].n == 9 and env.action_spaces["bank_0"].n == 5
    assert obs["central_bank"]["action_mask"].shape == (9,) and obs["bank_0"]["action_mask"].shape == (5,)
    steps = 0
    while True:
        acts = {a: int(np.flatnonzero(o["action_mask"])[-1]) for a, o in obs.items() if a in env.agents}
        obs, rewards, terms, truncs, _ = env.step(acts)
        steps += 1
        assert "central_bank" in rewards
        if terms["__all__"] or truncs["__all__"]:
            break
    assert steps == 6 and truncs["__all__"] and env.agents == []


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("rllib-both")
    cfg = root / "tiny.yaml"
    cfg.write_text(yaml.safe_dump(TINY))
    out = root / "run"
    # its own process: a Ray driver never lives inside the test worker
    proc = subprocess.run([sys.executable, "-m", "interbank.cli", "train", "--backend", "rllib", "--central-bank", "never",
                           "--config", str(cfg), "--out", str(out), "--no-progress"],
                          capture_output=True, text=True, timeout=HANG_S)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return out


def test_both_rllib_policies_land_in_a_two_policy_run_folder_and_load(run):
    from interbank.policies.central_bank import CentralBankMLP, load_central_bank_policy
    from interbank.policies.checkpoint import load_policy

    curriculum = json.loads((run / "curriculum.json").read_text())
    assert curriculum["policies"] == {"banks": "bank_*", "central_bank": "central_bank"}
    config = yaml.safe_load((run / "banks" / "config.yaml").read_text())
    assert config["train"]["backend"] == "rllib" and config["env"]["central_bank"]["agent"] is True
    banks, central_bank = load_policy(run / "banks"), load_central_bank_policy(run / "central_bank")
    assert isinstance(central_bank, CentralBankMLP)
    assert banks.meta["train"]["backend"] == central_bank.meta["train"]["backend"] == "rllib"
    assert banks.meta["train"]["step"] >= TINY["train"]["total_timesteps"]
    assert not list(run.rglob("*.zip")) and not list(run.rglob("*.pkl"))


def test_the_rllib_two_policy_run_replays_verifies_and_evaluates_with_both(run, tmp_path):
    events = tmp_path / "run.jsonl"
    assert main(["replay", str(run), "--no-interactive", "--steps", "6", "--speed", "0", "--events", str(events)]) == 0
    lines = [json.loads(x) for x in events.read_text().splitlines()]
    assert lines[0]["data"]["config"]["run"]["central_bank"]["policy"] == "learned"
    assert any(e["type"] == "central_bank" and e["data"].get("source") == "agent" for e in lines)
    assert main(["replay", "--events", str(events), "--verify"]) == 0
    out = tmp_path / "ev"
    assert main(["evaluate", str(run), "--episodes", "1", "--tune-episodes", "1", "--out", str(out),
                 "--no-plots", "--no-progress"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["env"]["central_bank"]["policy"] == "learned" and "trained" in metrics["policies"]

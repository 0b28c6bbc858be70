"""A two-policy run folder written by hand (no training): the banks' MLP and a central bank MLP
whose bias makes it pick one move wherever its mask allows it."""

import json
from pathlib import Path

import numpy as np
import yaml

from interbank.envs.central_bank_observation import N_CB_FEATURES
from interbank.envs.observation import N_FEATURES
from interbank.policies.central_bank import central_bank_metadata

from interbank.run_folder import policy_metadata, write_checkpoint
from interbank.sim.central_bank import CB_INDEX, N_CB_ACTIONS


def write_two_policy_run(folder: Path, move: str = "rate_up", n_banks: int = 8) -> Path:
    """``folder``: curriculum.json, banks/ (config.yaml with the agent on, a checkpoint) and
    central_bank/checkpoints/1/ (a central bank that always picks ``move`` when allowed)."""
    rng = np.random.default_rng(0)
    banks = {
        "mlp_extractor.policy_net.0.weight": rng.standard_normal((8, N_FEATURES)).astype(np.float32),
        "mlp_extractor.policy_net.0.bias": np.zeros(8, np.float32),
        "action_net.weight": rng.standard_normal((5, 8)).astype(np.float32),
        "action_net.bias": np.zeros(5, np.float32),
    }
    env = {"n_banks": n_banks, "max_steps": 40, "central_bank": {"agent": True, "rule": "never", "every": 2}}
    (folder / "banks").mkdir(parents=True)
    (folder / "banks" / "config.yaml").write_text(yaml.safe_dump({"env": env}))
    write_checkpoint(folder / "banks", 1, banks, policy_metadata([8], "tanh", "abc", n_banks, {"train": {"step": 1}}))
    bias = np.zeros(N_CB_ACTIONS, np.float32)
    bias[CB_INDEX[move]] = 100.0
    cb = {
        "mlp_extractor.policy_net.0.weight": np.zeros((4, N_CB_FEATURES), np.float32),
        "mlp_extractor.policy_net.0.bias": np.zeros(4, np.float32),
        "action_net.weight": np.zeros((N_CB_ACTIONS, 4), np.float32),
        "action_net.bias": bias,
    }
    write_checkpoint(folder / "central_bank", 1, cb, central_bank_metadata([4], "tanh", "abc", n_banks, {"train": {"step": 1}}))
    (folder / "curriculum.json").write_text(json.dumps({"scheme": "written by hand for a test", "phases": []}))
    return folder

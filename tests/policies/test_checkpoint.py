"""Safe checkpoints: mismatches are named, pickles are never executed."""

import json
import pickle

import numpy as np
import pytest

from interbank.cli import main
from interbank.envs.observation import N_FEATURES
from interbank.policies.checkpoint import CheckpointError, load_policy, policy_metadata


def _write(folder, hidden=(8,), features=None, n_features=N_FEATURES, actions=None):
    from safetensors.numpy import save_file

    folder.mkdir(parents=True, exist_ok=True)
    meta = policy_metadata(list(hidden), "tanh", "abc", 5, {"train": {"step": 1}})
    if features is not None:
        meta["observation"]["features"] = features
        meta["observation"]["size"] = len(features)
    if actions is not None:
        meta["actions"] = actions
    rng = np.random.default_rng(0)
    w = {
        "mlp_extractor.policy_net.0.weight": rng.standard_normal((hidden[0], n_features)).astype(np.float32),
        "mlp_extractor.policy_net.0.bias": np.zeros(hidden[0], np.float32),
        "action_net.weight": rng.standard_normal((5, hidden[0])).astype(np.float32),
        "action_net.bias": np.zeros(5, np.float32),
    }
    save_file(w, str(folder / "policy.safetensors"))
    (folder / "policy.json").write_text(json.dumps(meta))
    return folder


def test_a_valid_pair_loads_and_respects_masks(tmp_path):
    policy = load_policy(_write(tmp_path / "ok") / "policy.json")
    obs = np.random.default_rng(1).random((50, N_FEATURES)).astype(np.float32)
    masks = np.zeros((50, 5), np.int8)
    masks[:, 4] = 1
    masks[::2, 0] = 1
    acts = policy.act(obs, masks)
    assert masks[np.arange(50), acts].all()
    np.testing.assert_allclose(policy.probabilities(obs, masks).sum(axis=1), 1.0)


def test_other_observation_size_is_named(tmp_path):
    folder = _write(tmp_path / "c", features=[f"f{i}" for i in range(18)], n_features=18)
    with pytest.raises(CheckpointError, match=f"observes 18 features, this env gives {N_FEATURES}"):
        load_policy(folder)


def test_other_action_set_is_named(tmp_path):
    folder = _write(tmp_path / "c", actions=["LEND", "HOLD"])
    with pytest.raises(CheckpointError, match="actions"):
        load_policy(folder)


def test_weights_that_do_not_fit_the_architecture(tmp_path):
    folder = _write(tmp_path / "c", hidden=(8,))
    meta = json.loads((folder / "policy.json").read_text())
    meta["architecture"]["hidden"] = [16]
    (folder / "policy.json").write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match="layer 0 has shape"):
        load_policy(folder)


class _Payload:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_crafted_pickle_is_refused_and_never_executed(tmp_path, capsys):
    marker = tmp_path / "pwned"
    folder = _write(tmp_path / "evil")
    (folder / "policy.safetensors").write_bytes(pickle.dumps(_Payload(str(marker))))
    with pytest.raises(CheckpointError, match="not a valid safetensors file"):
        load_policy(folder)
    # a pickle under any other name is never even opened
    other = tmp_path / "policy.pkl"
    other.write_bytes(pickle.dumps(_Payload(str(marker))))
    with pytest.raises(CheckpointError, match="other files are never loaded"):
        load_policy(other)
    with pytest.raises(SystemExit):
        main(["evaluate", str(folder), "--episodes", "1", "--no-progress"])
    assert "not a valid safetensors file" in capsys.readouterr().err
    assert not marker.exists()


def test_every_activation_a_checkpoint_may_name_is_the_same_function_in_numpy_and_in_torch():
    """The actor runs a checkpoint in numpy with the function the trainer built in torch: one
    table of names (``run_folder.TORCH_ACTIVATIONS``), each with its numpy function, none falling
    back to another."""
    import torch

    from interbank.policies.actor import NUMPY_ACTIVATIONS
    from interbank.run_folder import ACTIVATIONS, TORCH_ACTIVATIONS, torch_activation

    assert ACTIVATIONS == tuple(TORCH_ACTIVATIONS) == tuple(NUMPY_ACTIVATIONS)
    x = np.linspace(-3.0, 3.0, 13)
    for name in ACTIVATIONS:
        expected = torch_activation(name)()(torch.from_numpy(x)).numpy()
        np.testing.assert_allclose(NUMPY_ACTIVATIONS[name](x), expected, rtol=1e-12, atol=1e-15)
    assert torch_activation("relu") is torch.nn.ReLU and torch_activation("tanh") is torch.nn.Tanh


def test_a_relu_checkpoint_runs_with_relu(tmp_path):
    folder = _write(tmp_path / "relu")
    meta = json.loads((folder / "policy.json").read_text())
    meta["architecture"]["activation"] = "relu"
    (folder / "policy.json").write_text(json.dumps(meta))
    policy = load_policy(folder)
    obs = np.random.default_rng(1).standard_normal((4, N_FEATURES))
    (w, b), (hw, hb) = policy.layers[0], policy.head
    np.testing.assert_allclose(policy.logits(obs), np.maximum(obs @ w.T + b, 0.0) @ hw.T + hb)


def test_a_policy_shared_without_its_learners_state_plays_but_does_not_resume(trained_run, tmp_path, capsys):
    """policy.json + policy.safetensors are the policy: replayed, evaluated and served as the
    checkpoint they came from (trainer.* are the learner's state, for --resume and export only)."""
    import shutil

    from interbank.run_folder import newest_checkpoint

    checkpoint = newest_checkpoint(trained_run[1])
    shared = tmp_path / "shared"
    shared.mkdir()
    for name in ("policy.json", "policy.safetensors"):
        shutil.copy(checkpoint / name, shared / name)
    original, copy = load_policy(checkpoint), load_policy(shared)
    obs = np.random.default_rng(0).uniform(-1, 1, (16, N_FEATURES)).astype(np.float32)
    mask = np.ones((16, 5), bool)
    assert np.array_equal(original.act(obs, mask), copy.act(obs, mask))
    # a learner's file that is there is still checked: a truncated one is refused
    (shared / "trainer.json").write_text("{}")
    with pytest.raises(CheckpointError, match="trainer.json: does not match the SHA-256"):
        load_policy(shared)
    (shared / "trainer.json").unlink()
    # resuming needs the learner's state: one line naming what is missing
    from interbank.run_folder import load_resume_state

    with pytest.raises(CheckpointError, match="trainer.safetensors is missing"):
        load_resume_state(shared, "sb3", ())

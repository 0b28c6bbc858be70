"""The run folder: checkpoints written whole, found, verified; state saved without pickle."""

import json
import os

import numpy as np
import pytest
import torch

from interbank.policies.checkpoint import policy_metadata
from interbank.run_folder import (
    CheckpointError,
    RunFolderError,
    check_metadata,
    flatten_state,
    newest_checkpoint,
    open_run_folder,
    read_metadata,
    remove_stale_temporaries,
    resolve_checkpoint,
    unflatten_state,
    verify_checkpoint,
    write_checkpoint,
)


def _meta(step=1):
    return policy_metadata([8], "tanh", "abc", 5, {"train": {"step": step, "backend": "sb3"}})


def _write(run, step, **kw):
    weights = {"w": np.arange(6, dtype=np.float32).reshape(2, 3)}
    return write_checkpoint(run, step, weights, _meta(step), {"t": np.ones(3)}, {"format": "x", "state": {"value": 1}}, **kw)


def test_checkpoints_are_found_newest_first_and_verified_by_their_recorded_digests(tmp_path):
    for step in (10, 200, 30):
        _write(tmp_path, step)
    assert newest_checkpoint(tmp_path) == tmp_path / "checkpoints" / "200"
    meta = verify_checkpoint(tmp_path / "checkpoints" / "200")
    assert set(meta["files"]) == {"policy.safetensors", "trainer.safetensors", "trainer.json"}
    (tmp_path / "checkpoints" / "200" / "trainer.json").write_text('{"format": "x", "state": {"value": 2}}\n')
    with pytest.raises(CheckpointError, match="trainer.json: does not match the SHA-256 recorded"):
        verify_checkpoint(tmp_path / "checkpoints" / "200")
    assert newest_checkpoint(tmp_path, verified=True) == tmp_path / "checkpoints" / "30"


def test_a_run_its_checkpoints_folder_and_a_checkpoint_all_resolve_to_a_checkpoint(tmp_path):
    for step in (10, 200):
        _write(tmp_path, step)
    newest = tmp_path / "checkpoints" / "200"
    assert resolve_checkpoint(tmp_path) == newest
    assert resolve_checkpoint(tmp_path / "checkpoints") == newest  # RUN/checkpoints, as a shell completes it
    assert resolve_checkpoint(tmp_path / "checkpoints" / "10") == tmp_path / "checkpoints" / "10"
    empty = tmp_path / "empty" / "checkpoints"
    empty.mkdir(parents=True)
    with pytest.raises(CheckpointError, match="no checkpoint found"):
        resolve_checkpoint(empty)


def test_an_existing_checkpoint_is_never_overwritten(tmp_path):
    first = _write(tmp_path, 5)
    before = (first / "policy.json").read_bytes()
    assert _write(tmp_path, 5) == first and (first / "policy.json").read_bytes() == before


def test_stale_temporaries_are_removed_when_the_run_folder_is_opened(tmp_path):
    (tmp_path / "checkpoints" / ".tmp-100-4242").mkdir(parents=True)
    (tmp_path / "checkpoints" / ".tmp-100-4242" / "policy.safetensors").write_bytes(b"half")
    (tmp_path / ".config.yaml.tmp-4242").write_text("half")
    (tmp_path / "keep.txt").write_text("mine")
    open_run_folder(tmp_path)
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["checkpoints", "keep.txt"]
    assert remove_stale_temporaries(tmp_path) == []


def test_a_file_where_the_run_folder_should_be_is_one_line(tmp_path):
    taken = tmp_path / "taken"
    taken.write_text("x")
    with pytest.raises(RunFolderError, match=r"^--out .*taken: is a file, not a run folder"):
        open_run_folder(taken)


def test_nested_state_round_trips_without_pickle():
    opt = torch.optim.Adam([torch.nn.Parameter(torch.ones(3)), torch.nn.Parameter(torch.ones(2, 2))], lr=1e-3)
    for p in opt.param_groups[0]["params"]:
        p.grad = torch.ones_like(p)
    opt.step()
    tree = {"optimizer": opt.state_dict(), "rng": {"numpy": np.random.RandomState(3).get_state()}, "n": None}
    tensors, spec = flatten_state(tree)
    spec = json.loads(json.dumps(spec))  # what trainer.json holds
    back = unflatten_state(tensors, spec, "test")
    assert set(back["optimizer"]["state"]) == {0, 1}  # integer keys stay integers
    assert back["optimizer"]["param_groups"][0]["betas"] == (0.9, 0.999)  # tuples stay tuples
    assert torch.equal(back["optimizer"]["state"][1]["exp_avg"], opt.state_dict()["state"][1]["exp_avg"])
    fresh = torch.optim.Adam([torch.nn.Parameter(torch.ones(3)), torch.nn.Parameter(torch.ones(2, 2))], lr=1e-3)
    fresh.load_state_dict(back["optimizer"])
    assert back["rng"]["numpy"][0] == "MT19937" and np.array_equal(back["rng"]["numpy"][1], tree["rng"]["numpy"][1])
    assert back["n"] is None


@pytest.mark.parametrize("spec", [
    {"tensor": "missing"}, {"dict": [[1.5, {"value": 1}]]}, {"value": {"a": 1}}, {"eval": "os.system"}, [1, 2],
])
def test_a_malformed_state_description_is_refused(spec):
    with pytest.raises(CheckpointError, match="state"):
        unflatten_state({"t": np.ones(1)}, spec, "trainer.json")


def test_objects_that_cannot_be_saved_safely_are_refused_at_save_time():
    with pytest.raises(TypeError, match="not saved"):
        flatten_state({"f": lambda: 0})


@pytest.mark.parametrize("change, message", [
    ({"architecture": [1, 2]}, "architecture should be an object"),
    ({"architecture": {"type": "mlp", "hidden": [0], "activation": "tanh"}}, "architecture.hidden"),
    ({"architecture": {"type": "mlp", "hidden": [True], "activation": "tanh"}}, "architecture.hidden"),
    ({"architecture": {"type": "cnn", "hidden": [8], "activation": "tanh"}}, "unsupported architecture"),
    ({"observation": [1]}, "observation should be"),
    ({"observation": {"size": 3, "features": [1, 2, 3]}}, "observation should be"),
    ({"actions": "LEND"}, "actions should be a list"),
    ({"train": []}, "train should be an object"),
    ({"train": {"step": -1}}, "train.step should be"),
    ({"files": {"../x": "00"}}, "files should map"),
    ({"format": "other"}, "not an interbank policy"),
])
def test_malformed_metadata_names_the_field(change, message):
    with pytest.raises(CheckpointError, match=message):
        check_metadata({**_meta(), **change}, "policy.json")


@pytest.mark.parametrize("content", [b"\xff\xfe not utf-8", b"[" * 20000 + b"]" * 20000, b"{", b"[]"])
def test_unreadable_policy_json_is_one_line(tmp_path, content):
    (tmp_path / "policy.json").write_bytes(content)
    with pytest.raises(CheckpointError) as err:
        read_metadata(tmp_path)
    assert "\n" not in str(err.value) and str(tmp_path / "policy.json") in str(err.value)


def test_a_full_disk_mid_checkpoint_leaves_neither_the_checkpoint_nor_a_temporary(tmp_path, monkeypatch):
    import errno

    real = os.write

    def full(fd, data):
        real(fd, bytes(data)[: len(data) // 2])
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "write", full)
    with pytest.raises(RunFolderError, match=r"cannot write checkpoint 7: .*No space left on device \(errno 28\)"):
        _write(tmp_path, 7)
    monkeypatch.undo()
    assert list((tmp_path / "checkpoints").iterdir()) == []

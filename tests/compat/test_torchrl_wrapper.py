"""TorchRL's ``PettingZooWrapper`` as its own docs use it: ``use_mask=True`` and nothing else, over the
env's default (dict) observation; and the flat observation of docs/compat/torchrl_ippo.py. TorchRL
reads the action mask from the observation or from ``infos`` and fails in ``reset`` on a copy in both
(docs/trainers.md), so the env puts it in ``infos`` only with ``flat_observation=True``."""

from __future__ import annotations

import warnings

import pytest

from interbank.envs import parallel_env

torchrl_envs = pytest.importorskip("torchrl.envs")

STEPS = 300


@pytest.mark.parametrize("flat", [False, True], ids=["default-dict-observation", "flat-observation"])
def test_torchrl_wrapper_rolls_out_300_steps_across_resets_with_masked_random_actions(flat):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "PettingZoo in TorchRL is tested using version 1.24.3"
        env = torchrl_envs.PettingZooWrapper(
            parallel_env("configs/stress.yaml", n_banks=10, max_cycles=100, seed=1, flat_observation=flat),
            use_mask=True,
        )
    # TorchRL's default done_on_any=True ends an episode at the first default: 300 steps pass through reset again
    td = env.rollout(STEPS, break_when_any_done=False)
    assert td.batch_size == (STEPS,)
    assert int(td["next", "done"].sum()) >= 1
    keys = set(td.keys(True, True))
    assert ("bank", "action_mask") in keys and ("bank", "mask") in keys
    assert not any(k[-1] == "action_mask" and "info" in k for k in keys)  # TorchRL moved the mask out of infos
    # the random actions follow the mask TorchRL read: the env never had to replace a masked one by HOLD
    assert int(td["next", "bank", "info", "invalid_action"].sum()) == 0
    assert not td["bank", "action_mask"].all()  # some action was masked: the mask reached the action spec
    env.close()

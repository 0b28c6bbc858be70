"""The VecEnv adapter: masks, truncation, defaulted banks, resets, padding never learnt."""

import numpy as np

from interbank.config import resolve_env_config
from interbank.envs.observation import N_FEATURES
from interbank.sim.actions import HOLD, PRIORITIES
from interbank.train.buffer import PaddingAwareRolloutBuffer
from interbank.train.vec_env import BankVecEnv

CASCADE = "tests.sim.test_cascade"


def _cascade_config(max_steps=4):
    from tests.sim.test_cascade import SCENARIO

    return resolve_env_config({**SCENARIO, "max_steps": max_steps, "clearing": {"model": "fixed_recovery", "recovery": 0.0}})


def test_masks_reach_the_algorithm_one_row_per_bank_slot():
    from sb3_contrib.common.maskable.utils import get_action_masks, is_masking_supported

    vec = BankVecEnv(resolve_env_config(n_banks=5, **{"balance_sheet.market_share": 0.0}), n_envs=3, seed=0)
    vec.reset()
    assert is_masking_supported(vec)
    masks = get_action_masks(vec)
    assert masks.shape == (15, 5)
    assert not masks[:, 3].any()  # nothing to divest anywhere
    assert masks[:, HOLD].all()


def test_defaulted_bank_ends_its_episode_then_pads_until_the_copy_resets():
    vec = BankVecEnv(_cascade_config(), n_envs=1, seed=0)
    vec.reset()
    vec.step_async(np.full(3, HOLD))
    obs, rewards, dones, infos = vec.step_wait()
    # A and B defaulted at step 1: their episodes end (terminated, not truncated)
    assert dones.tolist() == [True, True, False]
    assert infos[0]["TimeLimit.truncated"] is False and "terminal_observation" in infos[0]
    assert rewards[0] == rewards[1] == np.float32(-1.0 - vec.envs[0].config.reward.default_penalty)
    assert vec.padding.tolist() == [True, True, False]
    # padding: zero observation, HOLD only
    assert not obs[:2].any()
    assert vec.action_masks()[:2].tolist() == [[False] * 4 + [True]] * 2
    vec.step_async(np.full(3, HOLD))
    obs, rewards, dones, infos = vec.step_wait()
    assert vec.acted_padding.tolist() == [True, True, False]
    assert rewards[:2].tolist() == [0.0, 0.0] and not dones.any()


def test_time_out_marks_truncation_and_resets_the_copy():
    vec = BankVecEnv(resolve_env_config(n_banks=4, max_steps=3, **{"shocks.withdrawal_prob": 0.0, "shocks.crash_prob": 0.0}), n_envs=2, seed=0)
    first = vec.reset()
    for _ in range(3):
        vec.step_async(np.full(8, HOLD))
        obs, rewards, dones, infos = vec.step_wait()
    assert dones.all()
    assert all(i["TimeLimit.truncated"] for i in infos)
    assert all(i["terminal_observation"].shape == (N_FEATURES,) for i in infos)
    assert all(e.system.t == 0 for e in vec.envs)  # reset for the next episode
    assert len(vec.episode_stats) == 2
    # continuing the seed sequence: a new episode, not the first one again
    assert not np.array_equal(obs, first)


def test_episode_return_per_priority_sums_each_copys_rewards_bank_after_bank():
    vec = BankVecEnv(resolve_env_config(n_banks=5, max_steps=6, **{"shocks.withdrawal_prob": 0.0, "shocks.crash_prob": 0.0}),
                     n_envs=3, seed=4)
    steps: list[list] = [[] for _ in vec.envs]
    for k, env in enumerate(vec.envs):
        def spy(actions, *args, _step=env.step_batch, _k=k):
            batch = _step(actions, *args)
            steps[_k].append(batch)
            return batch
        env.step_batch = spy
    vec.reset()
    rng = np.random.default_rng(0)
    for _ in range(6):
        masks = vec.action_masks()
        vec.step_async(np.argmax(rng.random(masks.shape) * masks, axis=1))
        vec.step_wait()
    assert len(vec.episode_stats) == 3  # the copies end together, in order
    seen = set()
    for stats, batches in zip(vec.episode_stats, steps):
        sums, counts = np.zeros(3), np.zeros(3)
        for batch in batches:  # in the order the banks acted: step after step, bank after bank
            for i in np.flatnonzero(batch.acted):
                sums[batch.priority[i]] += batch.rewards[i]
                counts[batch.priority[i]] += 1
        seen |= set(np.flatnonzero(counts).tolist())
        expected = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
        np.testing.assert_array_equal([stats[f"return_{p.lower()}"] for p in PRIORITIES], expected)
    assert len(seen) >= 2  # more than one priority was in force


def test_copy_where_every_bank_defaults_resets_at_once():
    cfg = resolve_env_config(
        {"max_steps": 50, "banks": [{"capital": 10, "target_leverage": 10, "risk": 0.5}] * 2,
         "network": {"type": "explicit", "edges": [[0, 1, 20]]},
         "clearing": {"model": "fixed_recovery", "recovery": 0.0},
         "shocks": {"crash_prob": 0.0, "withdrawal_prob": 0.0,
                    "scheduled": [{"step": 1, "type": "capital_loss", "bank": 1, "size": 5}]}},
    )
    vec = BankVecEnv(cfg, n_envs=1, seed=0)
    vec.reset()
    vec.step_async(np.full(2, HOLD))
    obs, rewards, dones, infos = vec.step_wait()
    assert dones.all() and not any(i["TimeLimit.truncated"] for i in infos)
    assert vec.envs[0].system.t == 0 and vec.envs[0].agents == ["bank_0", "bank_1"]
    assert not vec.padding.any()
    assert vec.episode_stats[-1]["default_rate"] == 1.0


def test_buffer_drops_padding_samples():
    import torch
    from gymnasium import spaces

    vec = BankVecEnv(_cascade_config(max_steps=10), n_envs=1, seed=0)
    buf = PaddingAwareRolloutBuffer(4, vec.observation_space, spaces.Discrete(5), n_envs=3, device="cpu")
    buf.padding_source = vec
    obs = vec.reset()
    for _ in range(4):
        vec.step_async(np.full(3, HOLD))
        masks = vec.action_masks()
        new_obs, rewards, dones, _ = vec.step_wait()
        buf.add(obs, np.full((3, 1), HOLD), rewards, np.zeros(3), torch.zeros(3), torch.zeros(3), action_masks=masks)
        obs = new_obs
    buf.compute_returns_and_advantage(torch.zeros(3), dones)
    # A and B act once (step 1) then pad for 3 steps; C acts 4 times
    assert buf.real_samples == 2 + 4
    batches = list(buf.get(batch_size=100))
    assert sum(b.observations.shape[0] for b in batches) == 6

"""train.critic: central — the critic sees a summary of the whole system, the actor only its bank."""

import copy

import numpy as np
import pytest
import torch
import yaml

from interbank.config import ConfigError
from interbank.envs import parallel_env
from interbank.envs.observation import N_FEATURES
from interbank.policies.checkpoint import load_policy
from interbank.train.config import parse_train_config
from interbank.train.critic import GLOBAL_FEATURES, N_GLOBAL, global_summary
from interbank.train.run import build_model, restore, train
from interbank.train.vec_env import BankVecEnv
from tests.conftest import TINY_TRAIN

CENTRAL = copy.deepcopy(TINY_TRAIN)
CENTRAL["train"].update({"total_timesteps": 576, "checkpoint_every": 10**6, "critic": "central"})


@pytest.fixture(scope="module")
def central_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("central")
    (tmp / "c.yaml").write_text(yaml.safe_dump(CENTRAL))
    return train(tmp / "c.yaml", tmp / "run", progress=False, command="test"), tmp / "run"


def test_global_summary_has_a_fixed_size_whatever_the_number_of_banks():
    sizes = set()
    for n in (4, 30):
        env = parallel_env(n_banks=n)
        env.reset(seed=0)
        summary = global_summary(env)
        sizes.add(summary.shape)
        assert summary.dtype == np.float32 and np.isfinite(summary).all()
    assert sizes == {(N_GLOBAL,)} and len(GLOBAL_FEATURES) == N_GLOBAL


def test_global_summary_follows_the_system():
    env = parallel_env(n_banks=6)
    env.reset(seed=0)
    names = [n for n, _ in GLOBAL_FEATURES]
    before = global_summary(env)
    assert before[names.index("live_fraction")] == 1.0
    assert before[names.index("welfare")] == pytest.approx(1.0)
    env.delete_bank("bank_0")
    assert global_summary(env)[names.index("live_fraction")] == pytest.approx(5 / 6)


def _model(tmp_path):
    cfg = parse_train_config(CENTRAL, "test")
    vec = BankVecEnv(cfg.env, 2, 0, global_state=True)
    return cfg, vec, build_model(cfg, vec, tmp_path)


def test_the_actor_ignores_the_global_summary_and_the_critic_reads_it(tmp_path):
    _, vec, model = _model(tmp_path)
    obs = vec.reset()
    assert obs.shape == (12, N_FEATURES + N_GLOBAL)
    x = torch.as_tensor(obs)
    other = x.clone()
    other[:, N_FEATURES:] += torch.linspace(0.5, 2.0, N_GLOBAL)
    policy = model.policy
    with torch.no_grad():
        logits = policy.get_distribution(x).distribution.logits
        logits_other = policy.get_distribution(other).distribution.logits
        values, values_other = policy.predict_values(x), policy.predict_values(other)
    assert torch.equal(logits, logits_other)
    assert not torch.allclose(values, values_other)
    own = other.clone()
    own[:, 0] += 0.5  # the bank's own observation does move the actor
    with torch.no_grad():
        assert not torch.allclose(policy.get_distribution(own).distribution.logits, logits)
    assert policy.state_dict()["mlp_extractor.policy_net.0.weight"].shape[1] == N_FEATURES
    assert policy.state_dict()["mlp_extractor.value_net.0.weight"].shape[1] == N_FEATURES + N_GLOBAL
    vec.close()


def test_a_central_critic_trains_saves_and_reloads(central_run, tmp_path):
    result, out = central_run
    assert result.timesteps >= 576
    # the checkpoint's actor is an ordinary policy: evaluate, replay and serve load it as any other
    policy = load_policy(result.checkpoint)
    env = parallel_env(CENTRAL["env"])
    env.reset(seed=1)
    actions = policy.act(env.observation_array(), env.action_mask_array())
    assert actions.shape == (6,)
    # and the whole model (critic included) restores into a fresh central-critic model
    _, vec, model = _model(tmp_path)
    step = restore(model, result.checkpoint)
    assert step == result.timesteps
    saved = load_policy(result.checkpoint)
    obs = vec.reset()
    with torch.no_grad():
        probs = model.policy.get_distribution(torch.as_tensor(obs)).distribution.probs.numpy()
    assert np.allclose(probs, saved.probabilities(obs[:, :N_FEATURES], np.ones_like(probs, bool)), atol=1e-5)
    vec.close()


def test_a_resumed_central_run_keeps_its_critic(central_run, tmp_path):
    import shutil

    _, out = central_run
    shutil.copytree(out, tmp_path / "run")
    result = train(None, tmp_path / "run", timesteps=864, resume=True, progress=False, command="test")
    assert result.timesteps >= 864


def test_central_critic_is_refused_for_rllib(tmp_path):
    from interbank.train.run import prepare_run

    (tmp_path / "c.yaml").write_text(yaml.safe_dump(CENTRAL))
    with pytest.raises(ConfigError, match="train.critic"):
        prepare_run(tmp_path / "c.yaml", tmp_path / "run", False, {}, "test", backend="rllib")
    assert not (tmp_path / "run").exists()


def test_a_learned_deviator_starts_from_a_central_critic_checkpoint(central_run):
    from interbank.train.best_response import train_best_response
    from interbank.train.config import TrainSettings

    result, _ = central_run
    saved = load_policy(result.checkpoint)
    env_cfg = parse_train_config(CENTRAL, "test").env
    settings = TrainSettings(n_envs=2, n_steps=16, batch_size=16, n_epochs=1, net_arch=[16, 16], device="cpu",
                             warm_start={"steps": 10, "epochs": 1})
    br = train_best_response(env_cfg, saved, 32, checkpoint=result.checkpoint, settings=settings, seed=50)
    assert br.warm_start["critic"] == "fitted"  # the central critic's input is wider: only the actor carries over
    obs = np.random.default_rng(0).uniform(0, 1, (8, N_FEATURES)).astype(np.float32)
    start = br.snapshots[0][1]
    assert np.allclose(start.logits(obs), saved.logits(obs))

"""Warm start: clone a reference rule into the policy before PPO (kickstarting).

Why: PPO from a random policy on this env settles, seed by seed, on one of a few
strategies (docs/learning.md): a lender that intermediates, a carry trader
that calls its loans and lives on the central bank's facility, or a bank that lends
almost everything. Which one depends on the first few hundred thousand decisions. Starting
every seed from the same transparent rule (the tuned ``lend_surplus``) makes the
starting point the same and lets PPO improve on the rule rather than rediscover
liquidity management; the same idea as kickstarting (Schmitt et al. 2018,
"Kickstarting Deep Reinforcement Learning") and demonstration pre-training
(Hester et al. 2018, DQfD).

Two parts, both on samples of the rule played in the training env itself
(``BankVecEnv``, padding slots left out):

- the actor: cross-entropy to the rule's action, label-smoothed over the actions the
  mask allows (``smoothing``), so PPO still explores after the warm start;
- the critic: regression on the discounted return the rule earned from each state
  (Monte Carlo, the training ``gamma``), so the first PPO updates are not driven
  by a random value function.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from interbank.envs.observation import N_FEATURES
from interbank.policies import make_policy
from interbank.sim.actions import N_ACTIONS


@dataclass
class Demonstrations:
    """Samples of a rule in the training env: observations float32[N, F], masks bool[N, N_ACTIONS],
    actions int64[N], discounted returns float32[N] (per unit of initial capital)."""

    observations: np.ndarray
    masks: np.ndarray
    actions: np.ndarray
    returns: np.ndarray


def collect(vec, policy_name: str, params: dict[str, float], steps: int, gamma: float) -> Demonstrations:
    """Play the rule for ``steps`` steps of every slot of ``vec`` (a ``BankVecEnv``)."""
    return collect_policy(vec, make_policy(policy_name, **params), steps, gamma)


def collect_policy(vec, rule, steps: int, gamma: float) -> Demonstrations:
    """Play ``rule`` (any ``Policy``) for ``steps`` steps of every slot of ``vec`` (a ``BankVecEnv``)."""
    rule.reset(0)
    obs = vec.reset()
    n = vec.num_envs
    o = np.zeros((steps, n, obs.shape[1]), np.float32)
    m = np.zeros((steps, n, N_ACTIONS), bool)
    a = np.zeros((steps, n), np.int64)
    r = np.zeros((steps, n), np.float32)
    d = np.zeros((steps, n), bool)
    real = np.zeros((steps, n), bool)
    for t in range(steps):
        masks = vec.action_masks()
        acts = rule.act(obs[:, :N_FEATURES], masks)  # a central critic's VecEnv appends the system summary
        o[t], m[t], a[t], real[t] = obs, masks, acts, ~vec.padding
        obs, rewards, dones, _ = vec.step(acts)
        r[t], d[t] = rewards, dones
    # discounted return from each sample to the end of its slot's episode (the last, unfinished
    # episode of each slot is cut at the end of collection: a short horizon at worst)
    g = np.zeros((steps, n), np.float32)
    running = np.zeros(n, np.float32)
    for t in range(steps - 1, -1, -1):
        running = r[t] + gamma * running * ~d[t]
        g[t] = running
    keep = real.reshape(-1)
    return Demonstrations(o.reshape(-1, o.shape[2])[keep], m.reshape(-1, N_ACTIONS)[keep], a.reshape(-1)[keep], g.reshape(-1)[keep])


def pretrain(model, demos: Demonstrations, epochs: int, batch_size: int, smoothing: float, seed: int,
             fit_actor: bool = True) -> dict[str, float]:
    """Fit ``model.policy`` (a MaskablePPO policy) to the demonstrations; returns the final
    accuracy (the policy's most likely action equals the rule's) and losses. ``fit_actor`` False
    fits the critic alone (the actor's loss is reported, not followed)."""
    import torch

    policy = model.policy
    device = policy.device
    x = torch.as_tensor(demos.observations, device=device)
    mask = torch.as_tensor(demos.masks, device=device)
    y = torch.as_tensor(demos.actions, device=device)
    g = torch.as_tensor(demos.returns, device=device)
    allowed = mask.float()
    target = (1.0 - smoothing) * torch.nn.functional.one_hot(y, N_ACTIONS).float() + smoothing * allowed / allowed.sum(1, keepdim=True)
    rng = np.random.default_rng(seed)
    n = x.shape[0]
    stats: dict[str, float] = {}
    policy.set_training_mode(True)
    for _ in range(epochs):
        order = torch.as_tensor(rng.permutation(n), device=device)
        for start in range(0, n, batch_size):
            idx = order[start:start + batch_size]
            dist = policy.get_distribution(x[idx], action_masks=mask[idx])
            logp = torch.log_softmax(dist.distribution.logits, dim=1)
            actor = -(target[idx] * torch.where(mask[idx], logp, torch.zeros_like(logp))).sum(1).mean()
            critic = torch.nn.functional.mse_loss(policy.predict_values(x[idx]).squeeze(1), g[idx])
            loss = (actor if fit_actor else 0.0) + model.vf_coef * critic
            policy.optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(policy.parameters(), model.max_grad_norm)
            policy.optimizer.step()
        stats = {"warm_start_actor_loss": actor.item(), "warm_start_critic_loss": critic.item()}
    policy.set_training_mode(False)
    with torch.no_grad():
        dist = policy.get_distribution(x, action_masks=mask)
        stats["warm_start_accuracy"] = float((dist.distribution.probs.argmax(1) == y).float().mean())
    stats["warm_start_samples"] = float(n)
    return stats

"""Fit the learned priority model: a linear contextual bandit over the bank's base features.

Why a contextual bandit: a priority is a strategic hint held for a few steps, its
effect shows up within a short horizon, and it must run for every bank at every
step. A linear value per priority, fitted by ridge regression on outcomes the
environment generates, is transparent (its weights can be read per feature),
costs one small matrix product per step, and needs no extra deep-RL machinery.

Data: episodes with the trained action policy in which each bank's priority is,
with probability ``exploration``, a uniformly random one held for ``hold`` steps.
For every bank-step with a priority p and features x, the outcome y is the
discounted sum over the next ``horizon`` steps of a priority-free objective: the
equally weighted profit, liquidity and stability components plus the survival
bonus, and minus the default penalty on a default. Then W[p] = ridge fit of y on
[x, 1] over the samples with priority p.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from interbank.config import EnvConfig
from interbank.envs import parallel_env
from interbank.envs.observation import N_BASE
from interbank.envs.priority import (
    ExploringPriority,
    LearnedPriority,
    priority_model_from_config,
)
from interbank.envs.rewards import objective
from interbank.policies.base import Policy, batch_actions
from interbank.sim.actions import PRIORITIES


def collect(env_config: EnvConfig, policy: Policy, episodes: int, exploration: float, hold: int, horizon: int,
            gamma: float, seed: int, progress: Callable[[int], None] | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(features float[S, N_BASE], priorities int[S], outcomes float[S]) over all live bank-steps."""
    xs, ps, ys = [], [], []
    for ep in range(episodes):
        explorer = ExploringPriority(priority_model_from_config(env_config.priority), exploration, hold, seed=seed * 7919 + ep)
        env = parallel_env(env_config, priority_model=explorer)
        policy.reset(seed + ep)
        env.reset(seed=seed + ep)
        feats, prios, objs, lives = [], [], [], []
        while env.agents:
            live = env.system.active.copy()
            feats.append(env._base.copy())
            prios.append(env._priority.copy())
            batch = env.step_batch(batch_actions(policy, env))
            obj = objective(batch.components)
            objs.append(np.where(live, obj, 0.0))
            lives.append(live)
        objs_a, lives_a = np.array(objs), np.array(lives)
        steps = objs_a.shape[0]
        out = np.zeros_like(objs_a)
        for t in range(steps):
            end = min(steps, t + horizon)
            disc = gamma ** np.arange(end - t)
            out[t] = disc @ objs_a[t:end]
        for t in range(steps):
            m = lives_a[t]
            xs.append(feats[t][m])
            ps.append(prios[t][m])
            ys.append(out[t][m])
        if progress:
            progress(ep + 1)
    return np.concatenate(xs), np.concatenate(ps), np.concatenate(ys)


def fit(features: np.ndarray, priorities: np.ndarray, outcomes: np.ndarray, ridge: float) -> tuple[LearnedPriority, dict[str, Any]]:
    """Ridge regression of outcome on [features, 1], one weight row per priority."""
    x = np.hstack([features, np.ones((features.shape[0], 1))])
    weights = np.zeros((len(PRIORITIES), N_BASE + 1))
    stats: dict[str, Any] = {"samples": {}}
    for p, name in enumerate(PRIORITIES):
        sel = priorities == p
        stats["samples"][name] = int(sel.sum())
        if sel.sum() == 0:
            weights[p, -1] = -1e9  # never chosen: no evidence for it
            continue
        xp, yp = x[sel], outcomes[sel]
        reg = ridge * np.eye(N_BASE + 1)
        reg[-1, -1] = 0.0  # do not shrink the intercept
        weights[p] = np.linalg.solve(xp.T @ xp + reg, xp.T @ yp)
    model = LearnedPriority(weights)
    chosen = model(features)
    stats["mix"] = {name: float((chosen == p).mean()) for p, name in enumerate(PRIORITIES)}
    return model, stats

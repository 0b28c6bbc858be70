"""Training callbacks: progress bar, interbank metrics for TensorBoard, atomic checkpoints."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
from stable_baselines3.common.callbacks import BaseCallback
from tqdm import tqdm

from interbank.train.vec_env import BankVecEnv


class ProgressCallback(BaseCallback):
    """A tqdm bar over bank-decisions with ETA, latest episode return and default rate."""

    def __init__(self, total: int, start: int, vec: BankVecEnv, disable: bool = False) -> None:
        super().__init__()
        self.bar = tqdm(total=total, initial=start, unit="dec", unit_scale=True, desc="train", disable=disable, mininterval=0.5)
        self.vec = vec
        self.last = start

    def _on_step(self) -> bool:
        now = self.model.num_timesteps
        self.bar.update(now - self.last)
        self.last = now
        return True

    def _on_rollout_end(self) -> None:
        if self.vec.episode_stats:
            recent = list(self.vec.episode_stats)[-20:]
            self.bar.set_postfix(
                ret=f"{np.mean([s['episode_return'] for s in recent]):.2f}",
                defaults=f"{np.mean([s['default_rate'] for s in recent]):.1%}",
            )

    def _on_training_end(self) -> None:
        self.bar.close()


class MetricsCallback(BaseCallback):
    """Logs the interbank episode figures (means over episodes finished since the last
    rollout) under ``interbank/`` next to SB3's own losses."""

    def __init__(self, vec: BankVecEnv) -> None:
        super().__init__()
        self.vec = vec
        self.seen = 0

    def _on_step(self) -> bool:
        return True

    def _on_rollout_end(self) -> None:
        stats = list(self.vec.episode_stats)
        fresh = min(len(stats), self._fresh())
        new = stats[len(stats) - fresh:] if fresh else []
        if not new:
            return
        for key in new[0]:
            values = [s[key] for s in new if not math.isnan(s[key])]
            if values:
                self.logger.record(f"interbank/{key}", float(np.mean(values)))
        self.logger.record("interbank/episodes", len(new))
        buf = self.model.rollout_buffer
        if hasattr(buf, "real_samples"):
            self.logger.record("interbank/real_sample_fraction", buf.real_samples / buf.padding.size)

    def _fresh(self) -> int:
        count = self.vec.episodes_finished - self.seen
        self.seen = self.vec.episodes_finished
        return count


class CheckpointCallback(BaseCallback):
    """Calls ``save(step)`` every ``every`` bank-decisions."""

    def __init__(self, every: int, save: Callable[[int], Path]) -> None:
        super().__init__()
        self.every = every
        self.save = save
        self.next = None

    def _on_training_start(self) -> None:
        self.next = (self.model.num_timesteps // self.every + 1) * self.every

    def _on_step(self) -> bool:
        if self.model.num_timesteps >= self.next:
            self.save(self.model.num_timesteps)
            self.next = (self.model.num_timesteps // self.every + 1) * self.every
        return True


class OpponentPoolCallback(BaseCallback):
    """Keeps the opponent pool (``interbank.train.pool``): ``snapshot(step)`` at the first rollout
    start past every ``every`` bank-decisions (the policy as the last update left it), and logs
    the pool to TensorBoard at each rollout end: ``pool/size``, ``pool/oldest_step``,
    ``pool/newest_step``, ``pool/opponent_age`` (mean decisions between the policy now and the
    snapshots the copies play) and ``pool/opponent_step/env<k>`` (the snapshot copy k's pool banks
    play now)."""

    def __init__(self, every: int, pool, vec: BankVecEnv, snapshot: Callable[[int], Path]) -> None:
        super().__init__()
        self.every = every
        self.pool = pool
        self.vec = vec
        self.snapshot = snapshot
        self.next = 0

    def _on_training_start(self) -> None:
        self.next = -(-self.model.num_timesteps // self.every) * self.every  # a mark the run stopped on counts

    def _on_step(self) -> bool:
        return True

    def _on_rollout_start(self) -> None:
        now = self.model.num_timesteps
        if now >= self.next:
            if now not in self.pool.steps:
                self.snapshot(now)
            self.next = (now // self.every + 1) * self.every

    def _on_rollout_end(self) -> None:
        steps = self.pool.steps
        self.logger.record("pool/size", len(steps))
        if steps:
            self.logger.record("pool/oldest_step", steps[0])
            self.logger.record("pool/newest_step", steps[-1])
        playing = [(k, opp[0]) for k, opp in enumerate(self.vec.opponent) if opp is not None]
        for k, step in playing:
            self.logger.record(f"pool/opponent_step/env{k}", step)
        if playing:
            self.logger.record("pool/opponent_age", float(self.model.num_timesteps - np.mean([s for _, s in playing])))

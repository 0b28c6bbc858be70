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

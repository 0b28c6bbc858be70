"""An opponent pool for self-play that settles (``train.opponents``): fictitious self-play.

Self-play against the current policy alone chases its own tail: each update is a best response
to the last one, and past a few hundred thousand decisions seeds drift off to different
strategies (docs/learning.md). Here a fraction of each env copy's banks play a frozen past
snapshot of the shared policy instead, so the learner is trained against a mix of its past
selves (Heinrich et al. 2015's fictitious self-play; AlphaStar's league, PSRO's populations are
richer versions of the same idea).

- Every ``snapshot_every`` learner decisions (and once when PPO starts, after the warm start)
  the actor is frozen into the pool; the pool keeps the newest ``max_size`` snapshots.
- Each snapshot is written as a safe checkpoint (``policy.safetensors`` + ``policy.json``,
  ``interbank.run_folder.write_checkpoint``) under ``RUN/pool/checkpoints/<step>/`` and read
  back through ``load_policy`` (verified digests, safetensors, no pickle), the same path
  ``evaluate`` uses, so the opponents are exactly what a checkpoint of that step would play.
  ``--resume`` reloads the pool from that folder; evicted snapshots are deleted. The draws
  (which snapshot, which banks) come from a generator of their own seeded from ``train.seed``;
  a resumed run starts it afresh, so it does not repeat an uninterrupted run's draws.
- At each episode start, each copy draws one snapshot uniformly and ``fraction`` of its banks
  (at least one, never all) to play it (``interbank.train.vec_env.BankVecEnv``); their
  transitions are left out of the PPO update like padding: only learner banks' samples train.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from interbank.policies.checkpoint import MLPPolicy, load_policy
from interbank.run_folder import CHECKPOINTS, write_checkpoint

POOL = "pool"
"""The pool's folder inside a run folder."""

ACTOR_PREFIXES = ("mlp_extractor.policy_net.", "action_net.")


class OpponentPool:
    """Frozen snapshots of the shared policy: ``snapshots`` [(learner decisions when taken,
    ``MLPPolicy``)], oldest first, at most ``max_size``; written under ``folder``
    (``RUN/pool``)."""

    def __init__(self, folder: Path, max_size: int) -> None:
        self.folder = Path(folder)
        self.max_size = max_size
        self.snapshots: list[tuple[int, MLPPolicy]] = []

    @property
    def steps(self) -> list[int]:
        return [step for step, _ in self.snapshots]

    def add(self, step: int, weights: dict[str, np.ndarray], meta: dict) -> Path:
        """Freeze the actor tensors of ``weights`` at ``step``: write, read back safely, keep."""
        actor = {k: np.ascontiguousarray(v) for k, v in weights.items() if k.startswith(ACTOR_PREFIXES)}
        folder = write_checkpoint(self.folder, step, actor, meta)
        self.snapshots = [s for s in self.snapshots if s[0] != step]
        self.snapshots.append((step, load_policy(folder, name=f"pool@{step}")))
        self.snapshots.sort(key=lambda s: s[0])
        while len(self.snapshots) > self.max_size:
            old, _ = self.snapshots.pop(0)
            shutil.rmtree(self.folder / CHECKPOINTS / str(old), ignore_errors=True)
        return folder

    def load(self) -> None:
        """The snapshots already in ``folder`` (a resumed run), newest ``max_size``."""
        root = self.folder / CHECKPOINTS
        steps = sorted(int(p.name) for p in root.iterdir() if p.is_dir() and p.name.isdigit()) if root.is_dir() else []
        self.snapshots = [(s, load_policy(root / str(s), name=f"pool@{s}")) for s in steps[-self.max_size:]]

    def sample(self, rng: np.random.Generator) -> tuple[int, MLPPolicy]:
        """One snapshot, uniformly."""
        return self.snapshots[int(rng.integers(len(self.snapshots)))]


def pool_size(fraction: float, n_banks: int) -> int:
    """How many banks of a copy play the pool: ``fraction`` of them, at least one, never all."""
    if fraction <= 0 or n_banks < 2:
        return 0
    return int(min(n_banks - 1, max(1, round(fraction * n_banks))))

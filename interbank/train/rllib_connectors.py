"""RLlib pieces for the single-bank slots of ``interbank.train.rllib_env``.

``PaddingLossMask`` (a learner connector) takes the padding samples of gone banks out of
PPO's loss; ``BankDecisions`` (a callback) counts the live bank-decisions each env runner
sampled, so that ``--timesteps``, checkpoints and throughput mean what they mean with
stable-baselines3.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from ray.rllib.callbacks.callbacks import RLlibCallback
from ray.rllib.connectors.connector_v2 import ConnectorV2
from ray.rllib.core.columns import Columns

BANK_DECISIONS = "interbank_bank_decisions"


def live_flags(episode, n: int) -> np.ndarray:
    """bool[n]: whether each of the episode's first n observations belongs to a live bank."""
    obs = episode.get_observations(slice(0, n))
    live = obs["live"] if isinstance(obs, dict) else [o["live"] for o in obs]  # numpy'd episode or a list
    return np.asarray(live, np.float32).reshape(-1) > 0.5


class PaddingLossMask(ConnectorV2):
    """ANDs PPO's loss mask with the ``live`` flag of each sample's observation.

    Runs after RLlib's ``AddOneTsToEpisodesAndTruncate`` (which PPO puts first and which
    writes the per-episode loss mask), before the batch is assembled."""

    def __call__(self, *, rl_module: Any, batch: dict[str, Any], episodes: list, explore: bool | None = None,
                 shared_data: dict | None = None, **kwargs: Any) -> Any:
        masks = batch.get(Columns.LOSS_MASK)
        if not masks:
            return batch
        for episode in self.single_agent_episode_iterator(episodes, agents_that_stepped_only=False):
            key = (episode.id_,)
            mask = masks.get(key)
            if mask is None:
                continue
            masks[key] = np.logical_and(np.asarray(mask, bool), live_flags(episode, len(mask))).tolist()
        return batch


class BankDecisions(RLlibCallback):
    """Logs the live bank-decisions of every ``sample()`` (a lifetime sum over the env runners)."""

    def on_sample_end(self, *, env_runner=None, metrics_logger=None, samples=None, **kwargs: Any) -> None:
        n = sum(int(live_flags(e, len(e)).sum()) for e in samples or () if len(e))
        metrics_logger.log_value(BANK_DECISIONS, n, reduce="lifetime_sum")

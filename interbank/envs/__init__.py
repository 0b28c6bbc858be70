"""PettingZoo environments over the interbank core.

``parallel_env(config=None, **overrides)`` -> ``InterbankEnv`` (ParallelEnv);
``env(...)`` -> the AEC version (``parallel_to_aec``). Both are registered in
PettingZoo's registry as ``interbank/Interbank-v1``::

    from pettingzoo.env_registry import make
    env = make("parallel", "interbank/Interbank-v1", n_banks=50)
"""

from __future__ import annotations

from typing import Any

from pettingzoo.utils.conversions import parallel_to_aec

from interbank.envs.interbank_env import InterbankEnv, env_card
from interbank.envs.observation import FEATURE_NAMES, FEATURES, N_FEATURES

ENV_ID = "interbank/Interbank-v1"


def parallel_env(config: Any = None, **overrides: Any) -> InterbankEnv:
    """The parallel environment (see ``InterbankEnv`` for the card)."""
    return InterbankEnv(config, **overrides)


def env(config: Any = None, **overrides: Any):
    """The AEC environment: ``parallel_to_aec(parallel_env(...))``."""
    return parallel_to_aec(parallel_env(config, **overrides))


raw_env = env


def _register() -> None:
    from pettingzoo.env_registry.registration import aec_registry, parallel_registry, register

    if ENV_ID not in parallel_registry:
        register("parallel", ENV_ID, entry_point="interbank.envs:parallel_env")
    if ENV_ID not in aec_registry:
        register("aec", ENV_ID, entry_point="interbank.envs:env")


_register()

__all__ = ["ENV_ID", "FEATURES", "FEATURE_NAMES", "N_FEATURES", "InterbankEnv", "env", "env_card", "parallel_env", "raw_env"]

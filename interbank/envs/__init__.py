"""PettingZoo environments over the interbank core.

``parallel_env(config=None, **overrides)`` -> ``InterbankEnv`` (ParallelEnv);
``env(...)`` -> the AEC version (``parallel_to_aec``). Where the installed
PettingZoo has an env registry (1.27 and later), both are registered in it as
``interbank/Interbank-v3``::

    import pettingzoo
    env = pettingzoo.make("parallel", "interbank/Interbank-v3", n_banks=50)

Older PettingZoo releases (1.24.3 to 1.26) have no registry; the functions here
work the same with them.
"""

from __future__ import annotations

from typing import Any

from pettingzoo.utils.conversions import parallel_to_aec

from interbank.envs.interbank_env import InterbankEnv, env_card
from interbank.envs.observation import FEATURE_NAMES, FEATURES, N_FEATURES

ENV_ID = "interbank/Interbank-v3"


def parallel_env(config: Any = None, **overrides: Any) -> InterbankEnv:
    """The parallel environment (see ``InterbankEnv`` for the card)."""
    return InterbankEnv(config, **overrides)


def env(config: Any = None, **overrides: Any):
    """The AEC environment: ``parallel_to_aec(parallel_env(...))``."""
    return parallel_to_aec(parallel_env(config, **overrides))


raw_env = env


def _register() -> bool:
    """Register both versions in PettingZoo's registry; False where this PettingZoo has none."""
    try:
        from pettingzoo.env_registry.registration import aec_registry, parallel_registry, register
    except ImportError:  # PettingZoo < 1.27
        return False
    if ENV_ID not in parallel_registry:
        register("parallel", ENV_ID, entry_point="interbank.envs:parallel_env")
    if ENV_ID not in aec_registry:
        register("aec", ENV_ID, entry_point="interbank.envs:env")
    return True


REGISTERED = _register()

__all__ = ["ENV_ID", "FEATURES", "FEATURE_NAMES", "N_FEATURES", "REGISTERED", "InterbankEnv", "env", "env_card", "parallel_env", "raw_env"]

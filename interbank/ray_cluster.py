"""Ray for interbank: start a local instance or join a cluster, with one-line errors.

Used by the RLlib training backend and by ``interbank evaluate --backend rllib`` (episodes
spread over a cluster's workers); neither needs the other's package for it.
"""

from __future__ import annotations

import os
import socket

from interbank.config import ConfigError

INSTALL_HINT = 'install it with: pip install -e ".[ray]"'


def require_ray():
    try:
        import ray
        from ray.rllib.algorithms.ppo import PPOConfig  # noqa: F401
    except ImportError:
        raise ConfigError(f"--backend rllib needs Ray RLlib, which is not installed; {INSTALL_HINT}") from None
    import ray

    return ray


def connect(address: str | None, num_cpus: int | None = None):
    """Start a local Ray instance, or join the cluster at ``address`` (host:port)."""
    ray = require_ray()
    if ray.is_initialized():
        return ray
    os.environ.setdefault("RAY_DISABLE_USAGE_STATS", "1")
    if address:
        host, _, port = address.rpartition(":")
        try:
            with socket.create_connection((host or "127.0.0.1", int(port)), timeout=3):
                pass
        except (OSError, ValueError):
            raise ConfigError(f"--address {address}: no Ray cluster answers there (start one with: ray start --head --port {port or 6379})") from None
        try:
            ray.init(address=address, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
        except Exception as err:  # noqa: BLE001 - Ray raises many kinds; the user needs one line
            raise ConfigError(f"--address {address}: cannot join the Ray cluster ({str(err).splitlines()[0][:120]})") from None
    else:
        ray.init(num_cpus=num_cpus, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    return ray

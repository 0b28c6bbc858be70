"""A centralised critic (``train.critic: central``): the MAPPO recipe (Yu et al. 2022).

The value function also sees a fixed-size summary of the whole system (``GLOBAL_FEATURES``, made
from ``env.state()``: every bank's base features, aggregated over the live banks), appended to
each bank's observation by the training VecEnv. The actor still reads only the bank's own
observation (the first ``N_FEATURES`` columns): its first layer has ``N_FEATURES`` inputs, so a
checkpoint's actor is the same shape as a local-critic one and every consumer of checkpoints
(evaluate, replay, serve, ``MLPPolicy``) runs it unchanged. Only training (and ``--resume``)
builds the wider critic.

Why a summary and not the whole state: its size must not depend on the number of banks, so one
policy trains at 20 banks and is evaluated at 100, as the local one is.
"""

from __future__ import annotations

import numpy as np

from interbank.envs.observation import BASE_INDEX, N_BASE, N_FEATURES

_MEANS = ("cash_ratio", "book_ratio", "loans_out_ratio", "investment_ratio", "borrowings_ratio", "central_bank_ratio",
          "equity_ratio", "capital_buffer", "liquidity_buffer", "reserve_buffer", "capital_growth", "unmet_funding",
          "shortfall_ratio", "counterparty_losses")
_MINS = ("capital_buffer", "liquidity_buffer", "reserve_buffer")

GLOBAL_FEATURES: tuple[tuple[str, str], ...] = (
    *((f"mean_{name}", f"mean over live banks of {name}") for name in _MEANS),
    *((f"min_{name}", f"the weakest live bank's {name}") for name in _MINS),
    ("live_fraction", "live banks / all banks, [0, 1]"),
    ("capital_ratio", "total equity of live banks / initial total equity, clipped to [-1, 5]"),
    ("welfare", "BankingSystem.welfare() (1.0 at reset), clipped to [-1, 5]"),
)
"""(name, unit) of each column of the summary the central critic sees, in order."""
N_GLOBAL = len(GLOBAL_FEATURES)
_MEAN_COLS = np.array([BASE_INDEX[n] for n in _MEANS])
_MIN_COLS = np.array([BASE_INDEX[n] for n in _MINS])


def global_summary(env) -> np.ndarray:
    """float32[N_GLOBAL]: the system summary of one env (an ``InterbankEnv``) as it stands."""
    system = env.system
    base = env.state()[: system.n * N_BASE].reshape(system.n, N_BASE)
    live = system.active
    out = np.zeros(N_GLOBAL, np.float32)
    k = len(_MEANS) + len(_MINS)
    if live.any():
        rows = base[live]
        out[: len(_MEANS)] = rows[:, _MEAN_COLS].mean(axis=0)
        out[len(_MEANS): k] = rows[:, _MIN_COLS].min(axis=0)
    out[k] = live.mean()
    out[k + 1] = np.clip(system.total_capital() / float(system.capital0.sum()), -1.0, 5.0)
    out[k + 2] = np.clip(system.welfare(), -1.0, 5.0)
    return out


def central_critic_policy():
    """The MaskablePPO policy class whose critic reads the whole input and whose actor the first
    ``N_FEATURES`` columns (imported lazily: torch)."""
    import torch
    from sb3_contrib.common.maskable.policies import MaskableActorCriticPolicy
    from stable_baselines3.common.torch_layers import MlpExtractor

    class CentralCriticExtractor(MlpExtractor):
        """``MlpExtractor`` with an actor over the bank's own ``N_FEATURES`` columns and a critic
        over the observation plus the global summary (``feature_dim`` columns)."""

        def __init__(self, feature_dim: int, net_arch, activation_fn, device="auto") -> None:
            super().__init__(feature_dim, net_arch, activation_fn, device)
            own = MlpExtractor(N_FEATURES, net_arch, activation_fn, device)
            self.policy_net = own.policy_net  # same layer names as a local critic's: checkpoints stay interchangeable

        def forward(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            return self.forward_actor(features), self.forward_critic(features)

        def forward_actor(self, features: torch.Tensor) -> torch.Tensor:
            return self.policy_net(features[..., :N_FEATURES])

    class CentralCriticPolicy(MaskableActorCriticPolicy):
        """MaskablePPO's actor-critic with ``CentralCriticExtractor``."""

        def _build_mlp_extractor(self) -> None:
            self.mlp_extractor = CentralCriticExtractor(self.features_dim, self.net_arch, self.activation_fn, self.device)

    return CentralCriticPolicy

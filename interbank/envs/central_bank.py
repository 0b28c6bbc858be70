"""The ``central_bank`` agent of an ``InterbankEnv`` (``central_bank.agent: true``).

One more agent beside ``bank_0 ... bank_{N-1}``, with its own spaces:

- observation: ``Dict(observation=Box(float32, (N_CB_FEATURES,)), action_mask=Box(int8, (9,)))``
  (or one flat ``Box`` with ``flat_observation=True``), the system aggregates of
  ``interbank.envs.central_bank_observation``;
- action: ``Discrete(9)``, the moves of ``interbank.sim.central_bank.CB_ACTIONS``, masked at
  their bounds; it decides every ``every`` steps (when ``system.t % every == 0``) and in between
  only ``hold`` is allowed; a masked action is executed as ``hold`` and reported in ``infos``;
- timing: it moves on the same observation as the banks, and its decision takes effect at the
  end of the step (after the banks' trades, the markets and the defaults), so the banks see it
  in their next observation and mask, and a buffer raise never voids an action their mask
  allowed;
- reward per step: the change in social welfare (``BankingSystem.welfare``, the measure
  ``interbank evaluate`` reports) minus ``loss_weight`` x the change in its own losses
  (``central_bank_cost``: minus its net worth, over initial total equity: interest paid on
  reserves, minus interest earned, plus credit losses). Welfare counts the banks' equity, so
  interest the central bank pays them shows there: with weight 1 such a transfer is neutral,
  and a credit loss counts once in welfare and once more as the cost of public funds;
- when the step is given no action for it, ``policy`` decides (the configured rule,
  ``interbank.envs.central_bank_rules``; ``never`` holds).

Its decisions are ``central_bank`` events with ``source: "agent"``, the move as ``decision`` and
what it saw as ``observation`` (its features by name). ``override()`` (the interactive runner, after
a person's central bank command while paused) makes the next step's decision ``hold``, marked
``"overridden": true``: the person's command stands for that step.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

import numpy as np
from gymnasium import spaces

from interbank.envs.action_input import discrete_action
from interbank.envs.central_bank_observation import (
    CB_FEATURE_INDEX, CB_FEATURE_NAMES, CB_HIGH, CB_LOW, N_CB_FEATURES, central_bank_cost, central_bank_features, credit, new_memory, sales,
)
from interbank.envs.central_bank_rules import make_central_bank_rule
from interbank.sim import central_bank as instruments
from interbank.sim.central_bank import CB_ACTIONS, CB_HOLD, N_CB_ACTIONS

if TYPE_CHECKING:
    from interbank.envs.interbank_env import InterbankEnv

CENTRAL_BANK = "central_bank"
"""The agent's name."""

CentralBankPolicy = Callable[[np.ndarray, np.ndarray], int]
"""``policy(observation float32[N_CB_FEATURES], mask int8[9]) -> action``."""


@dataclass
class CentralBankStep:
    """What the central bank did in one step: ``reward`` (welfare change minus weighted losses),
    ``action`` (executed, an index into ``CB_ACTIONS``), ``invalid`` (a masked action was sent),
    ``due`` (it was a decision step)."""

    reward: float
    action: int
    invalid: bool
    due: bool


class CentralBankAgent:
    """The central bank of one env: its spaces, what it sees, its decisions and its reward.

    Fields: ``env``; ``policy`` (decides when a step brings no action; the configured rule);
    ``observation_space``, ``action_space``; ``obs`` float32[N_CB_FEATURES] and ``mask``
    int8[9] as of the last refresh."""

    def __init__(self, env: "InterbankEnv", policy: CentralBankPolicy | None = None) -> None:
        self.env = env
        cb = env.config.central_bank
        self.policy: CentralBankPolicy = policy or make_central_bank_rule(cb.rule, **cb.rule_params)
        if env.flat_observation:
            self.observation_space: spaces.Space = spaces.Box(
                np.concatenate([CB_LOW, np.zeros(N_CB_ACTIONS, np.float32)]),
                np.concatenate([CB_HIGH, np.ones(N_CB_ACTIONS, np.float32)]), (N_CB_FEATURES + N_CB_ACTIONS,), np.float32)
        else:
            self.observation_space = spaces.Dict({
                "observation": spaces.Box(CB_LOW, CB_HIGH, (N_CB_FEATURES,), np.float32),
                "action_mask": spaces.Box(0, 1, (N_CB_ACTIONS,), np.int8),
            })
        self.action_space = spaces.Discrete(N_CB_ACTIONS)
        self.obs = np.zeros(N_CB_FEATURES, np.float32)
        self.mask = np.zeros(N_CB_ACTIONS, np.int8)
        self.overridden = False

    # ------------------------------------------------------------------ state
    def reset(self) -> None:
        self.memory = new_memory(self.env.system)
        self.overridden = False
        self.refresh()

    def override(self) -> None:
        """A person's command stands for the coming step: the agent's decision in it (if it is due)
        is ``hold``, its event marked ``"overridden": true``; it decides again after that step."""
        self.overridden = True

    def due(self) -> bool:
        """Whether it decides in the coming step (every ``every`` steps, from step 0)."""
        s = self.env.system
        return not s.done and s.t % self.env.config.central_bank.every == 0

    def refresh(self) -> None:
        """Recompute what it sees and may do (after reset, a step or an interactive change)."""
        s = self.env.system
        due = self.due()
        self.obs = central_bank_features(s, self.memory, due)
        self.mask = instruments.action_mask(s.state, s.params, due).astype(np.int8)

    def observation(self) -> Any:
        if self.env.flat_observation:
            return np.concatenate([self.obs, self.mask.astype(np.float32)])
        return {"observation": self.obs, "action_mask": self.mask}

    def seen(self) -> dict[str, float | None]:
        """What it sees now, by feature name (JSON-ready: a non-finite value is ``None``)."""
        return {name: (float(x) if np.isfinite(x) else None) for name, x in zip(CB_FEATURE_NAMES, self.obs.tolist())}

    # ------------------------------------------------------------------ step
    def choose(self, action: Any | None) -> tuple[int, bool, bool]:
        """(action to execute, invalid, due) for this step, from the observation it had: the
        action sent, else the policy's; a masked one becomes ``hold``."""
        due = bool(self.obs[CB_FEATURE_INDEX["due"]] > 0.5)
        if self.overridden:
            return CB_HOLD, False, due
        if action is None:
            action = self.policy(self.obs, self.mask)
        a = discrete_action(action, N_CB_ACTIONS)  # (the banks' rule: only integers are actions)
        if a < 0 or not self.mask[a]:
            return CB_HOLD, True, due
        return a, False, due

    def before_step(self) -> tuple[float, float]:
        s = self.env.system
        return s.welfare(), central_bank_cost(s)

    def after_step(self, action: int, invalid: bool, due: bool, before: tuple[float, float]) -> CentralBankStep:
        """After the banks' step: carry out a due decision (events with ``source: "agent"``),
        update its memory and return its reward (the caller refreshes the observations)."""
        s = self.env.system
        overridden, self.overridden = self.overridden, False
        self.memory.sold_last = sales(s) - self.memory.sold_before
        self.memory.sold_before = sales(s)
        if s.done:
            action = CB_HOLD  # the episode ended in this step: nothing left to decide
        elif due:
            events = s.central_bank_decision(action)
            self.memory.credit_decided = credit(s)
            if s.log.enabled:
                extra: dict[str, Any] = {"source": "agent", "decision": CB_ACTIONS[action], "observation": self.seen()}
                if overridden:
                    extra["overridden"] = True
                for data in events:
                    s.log.emit(s.t, "central_bank", {**data, **extra})
        welfare_before, losses_before = before
        weight = self.env.config.central_bank.loss_weight
        reward = (s.welfare() - welfare_before) - weight * (central_bank_cost(s) - losses_before)
        return CentralBankStep(float(reward), action, invalid, due)

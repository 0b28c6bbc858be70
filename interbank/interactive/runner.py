"""The one interactive runner: drives env + policy step by step and takes commands.

Commands: ``pause``, ``resume``, ``stop`` and, only while paused,
``delete_bank(bank)`` and ``add_capital(bank, amount)``. Every front end (the
terminal replay, the HTTP/SSE server, the web page) goes through this class,
and all of them see the same event stream: the env's simulation events plus
``paused``, ``resumed``, ``stopped``, ``bank_deleted``, ``capital_added``,
numbered by the same ``seq``.

A command in the wrong state, an unknown or gone bank, or an amount that is not
a positive finite number raises :class:`CommandError` (with an HTTP-like
status: 404 unknown bank, 409 wrong state, 422 bad value) and changes nothing.

Reproducibility: the init event holds the resolved config and the policy; each
control event carries the step it was applied at. ``interbank.interactive.verify``
re-simulates a recorded stream from those and reports the first difference.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from typing import Any


from interbank.config import EnvConfig
from interbank.envs import parallel_env
from interbank.policies.base import Policy, batch_actions
from interbank.sim.events import Event

STATES = ("ready", "running", "paused", "stopped", "complete")
COMMANDS = ("pause", "resume", "stop", "delete_bank", "add_capital")
CONTROL_EVENT = {"pause": "paused", "resume": "resumed", "stop": "stopped", "delete_bank": "bank_deleted", "add_capital": "capital_added"}


class CommandError(Exception):
    """A refused command. ``status``: 404 (unknown bank), 409 (wrong state), 422 (bad value)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class Status:
    state: str
    step: int
    max_steps: int
    active_banks: int
    defaults: int
    deleted: int
    total_capital: float

    def as_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


class Runner:
    """Drives an ``InterbankEnv`` with a batch ``Policy``; thread-safe commands between steps.

    States: ``ready`` (nothing stepped yet) -> ``running`` <-> ``paused`` -> ``stopped``,
    or ``complete`` when the episode ends by itself. ``step()`` advances one step when
    running (or ready); commands take effect before the next step starts.
    """

    def __init__(self, config: EnvConfig, policy: Policy, seed: int, policy_info: dict[str, Any] | None = None,
                 priority_model: Any = None) -> None:
        self.policy = policy
        self.seed = seed
        info = {"policy": policy.name, "seed": seed, **(policy_info or {}),
                "priority_model": "learned" if priority_model is not None else config.priority.model}
        self.env = parallel_env(config, record_events=True, run_info={"run": info}, priority_model=priority_model)
        self.policy.reset(seed)
        self.env.reset(seed=seed)
        self.state = "ready"
        self.lock = threading.RLock()
        self._events: list[Event] = list(self.env.drain_events())
        self._delivered = 0

    # --------------------------------------------------------------- events
    def take_events(self) -> list[Event]:
        """Events produced since the last call (each event is handed out once)."""
        with self.lock:
            self._events.extend(self.env.drain_events())
            out = self._events[self._delivered:]
            self._delivered = len(self._events)
            return out

    @property
    def finished(self) -> bool:
        return self.state in ("stopped", "complete")

    def status(self) -> Status:
        s = self.env.system
        return Status(
            self.state, s.t, s.max_steps, int(s.active.sum()), int(s.defaulted.sum()), int(s.deleted.sum()),
            s.total_capital(),
        )

    # ----------------------------------------------------------------- step
    def step(self) -> bool:
        """Advance one step if running (``ready`` starts running). Returns whether it stepped."""
        with self.lock:
            if self.state == "ready":
                self.state = "running"
            if self.state != "running":
                return False
            self.env.step_batch(batch_actions(self.policy, self.env))
            if self.env.system.done:
                self.state = "complete"
            return True

    # ------------------------------------------------------------- commands
    def command(self, name: str, bank: str | None = None, amount: Any = None) -> Event:
        """Apply a command; returns the control event it produced."""
        if name not in COMMANDS:
            raise CommandError(422, f"unknown command {name!r}; expected one of {', '.join(COMMANDS)}")
        with self.lock:
            if self.finished:
                raise CommandError(409, f"{name} refused: the session is {self.state}")
            if name == "pause":
                if self.state == "paused":
                    raise CommandError(409, "pause refused: the session is already paused")
                self.state = "paused"
                self.env.emit("paused", {"step": self.env.system.t})
            elif name == "resume":
                if self.state != "paused":
                    raise CommandError(409, f"resume needs a paused session; the session is {self.state}")
                self.state = "running"
                self.env.emit("resumed", {"step": self.env.system.t})
            elif name == "stop":
                self.state = "stopped"
                self.env.emit("stopped", {"step": self.env.system.t, "reason": "user"})
                self.env.system.stop("stopped")
                self.env.events.extend(self.env.system.log.drain())
            else:
                if self.state != "paused":
                    raise CommandError(409, f"{name} needs a paused session; the session is {self.state}")
                if not isinstance(bank, str) or not bank:
                    raise CommandError(422, f"{name} needs bank (an agent name such as bank_3)")
                if bank not in self.env.agent_index:
                    raise CommandError(404, f"unknown bank {bank!r}")
                if not self.env.system.active[self.env.agent_index[bank]]:
                    raise CommandError(409, f"bank {bank} is gone (defaulted or deleted) and cannot be changed")
                if name == "add_capital":
                    value = _amount(amount)
                    self.env.add_capital(bank, value)
                else:
                    if amount is not None:
                        raise CommandError(422, "delete_bank takes no amount")
                    self.env.delete_bank(bank)
            self._events.extend(self.env.drain_events())
            produced = CONTROL_EVENT[name]
            return next(e for e in reversed(self._events) if e["type"] == produced)


def _amount(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise CommandError(422, f"amount must be a positive finite number, got {value!r}")
    amount = float(value)
    if not math.isfinite(amount) or amount <= 0:
        raise CommandError(422, f"amount must be a positive finite number, got {value!r}")
    if amount > 1e15:
        raise CommandError(422, f"amount {value!r} is too large (at most 1e15)")
    return amount

"""The one interactive runner: drives env + policy step by step and takes commands.

Commands: ``pause``, ``resume``, ``stop`` and, only while paused,
``delete_bank(bank)``, ``add_capital(bank, amount)`` and
``central_bank(operation, bank?, amount)`` with the operations ``inject``
(emergency liquidity lent to ``bank``: a positive finite ``amount``),
``set_policy_rate`` and ``set_capital_requirement`` (``amount`` = the new
annual rate or minimum capital ratio, in [0, 1]; no bank). Every front end (the
terminal replay, the HTTP/SSE server, the web page) goes through this class,
and all of them see the same event stream: the env's simulation events plus
``paused``, ``resumed``, ``stopped``, ``bank_deleted``, ``capital_added``,
``central_bank``, numbered by the same ``seq``. (The simulation emits
``central_bank`` events of its own, operations ``lending_facility`` and
``repayment``; only the three operations above come from commands.)

With the ``central_bank`` agent on (a rule, or a learned policy given as
``central_bank_policy``), its decisions are ``central_bank`` events with
``source: "agent"``, re-created by stepping. A person's central bank command
while paused overrides it: the command stands for the coming step (the agent
holds in it, its event marked ``overridden``) and the agent decides again after.

A command in the wrong state, an unknown or gone bank, or an amount that is not
valid for it raises :class:`CommandError` (with an HTTP-like status: 404
unknown bank, 409 wrong state or gone bank, 422 bad value) and changes nothing.

Reproducibility: the init event holds the resolved config and the policy; each
control event carries the step it was applied at. ``interbank.interactive.verify``
re-simulates a recorded stream from those and reports the first difference.

Branches: ``branch()`` (paused only) returns an independent copy of the runner at the
same state, with the same seeded shocks and policy random state ahead of it. Its
stream is the parent's up to the fork (the init carries ``config.branch`` = the parent
session, the fork step and the last seq before the fork), then its own; without an
intervention it continues byte for byte as the parent does.
"""

from __future__ import annotations

import copy
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from interbank.config import EnvConfig
from interbank.envs import parallel_env
from interbank.envs.central_bank import CentralBankPolicy
from interbank.envs.interbank_env import InterbankEnv
from interbank.envs.interventions import positive_amount
from interbank.ui import clipped
from interbank.policies.base import Policy, batch_actions
from interbank.sim.events import Event

# interrupted: a session the server read back from its store after a restart, not re-created yet (a
# command re-creates it by replaying its stream, paused at its last step); a Runner is never in it
INTERRUPTED = "interrupted"
STATES = ("ready", "running", "paused", "stopped", "complete", INTERRUPTED)
FINISHED_STATES = ("stopped", "complete")  # a session in these takes no command and never steps again
# the commands, their table and the names derived from it: declared once, after ``Runner``
# (see ``COMMAND_TABLE``); the central bank operations a command can ask for (the simulation's
# own central_bank events, lending_facility and repayment, are not commands)
CENTRAL_BANK_OPERATIONS: tuple[str, ...] = InterbankEnv.CENTRAL_BANK_OPERATIONS
EXPOSURE_STEPS = 64  # steps of exposure snapshots kept for viewers that lag behind the runner
# steps per second: the slowest pace a front end offers (0 = as fast as possible); slower
# would only mean a session that looks stuck
MIN_SPEED = 0.01


def is_command_event(event: Event) -> bool:
    """Whether a recorded event was produced by a command (and must be re-applied to replay it)."""
    if event.get("type") == "central_bank":
        data = event.get("data")
        # the central bank agent's decisions (source "agent") are re-created by stepping, not commands
        return isinstance(data, dict) and data.get("operation") in CENTRAL_BANK_OPERATIONS and data.get("source") != "agent"
    return event.get("type") in CONTROL_EVENT.values()


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
    policy_rate: float
    min_capital_ratio: float

    def as_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


@dataclass
class Fork:
    """Where a runner starts: a new episode (built by ``Runner``) or a copy of another runner's
    paused simulation (``Runner.branch``). ``env`` and ``policy`` as they are now; ``init_event``:
    the stream's init; ``exposures``: the exposure snapshots so far (this step's is added);
    ``state``: the runner's state; ``pending``: events not handed out yet."""

    env: InterbankEnv
    policy: Policy
    init_event: Event
    exposures: deque
    state: str
    pending: list[Event]


@dataclass(frozen=True)
class Command:
    """One row of :data:`COMMAND_TABLE`: what a command is called, the runner states it is allowed
    in, the arguments it takes, the control event it produces (``None``: a command on the session,
    which produces no event in its stream) and the ``Runner`` method that carries it out.
    ``revives``: an interrupted session (read back from the store after a restart) takes it; the
    store re-creates it, paused, first."""

    name: str
    when: tuple[str, ...]
    takes: tuple[str, ...]
    event: str | None
    handler: Callable[..., Any]
    revives: bool = False

    def refusal(self, state: str) -> str | None:
        """Why a runner in ``state`` refuses this command (``None``: it takes it)."""
        if state in self.when:
            return None
        if len(self.when) == 1:
            return f"{self.name} needs a {self.when[0]} session; the session is {state}"
        return f"{self.name} refused: the session is already {state}"


def exposure_answer(snap: dict[str, Any], limit: int | None) -> dict[str, Any]:
    """What ``exposures`` answers from a snapshot: its pairs, the ``limit`` largest (they are
    kept largest first), with the count and total of all of them."""
    k = len(snap["amount"]) if limit is None else min(limit, len(snap["amount"]))
    return {"step": snap["step"], "count": len(snap["amount"]), "total": snap["total"],
            "lender": snap["lender"][:k], "borrower": snap["borrower"][:k], "amount": snap["amount"][:k]}


def _before_defaults(snaps: deque[dict[str, Any]]) -> list[dict[str, Any]]:
    """What a finished runner keeps of its exposure snapshots: the last, and each one just before a
    step in which banks defaulted (a viewer focusing on a default asks for the step before it)."""
    kept = list(snaps)
    return [x for x, after in zip(kept, kept[1:]) if after["defaulted"] > x["defaulted"]] + kept[-1:]


class Runner:
    """Drives an ``InterbankEnv`` with a batch ``Policy``; thread-safe commands between steps.

    States: ``ready`` (nothing stepped yet) -> ``running`` <-> ``paused`` -> ``stopped``,
    or ``complete`` when the episode ends by itself. ``step()`` advances one step when
    running (or ready); commands take effect before the next step starts.
    """

    def __init__(self, config: EnvConfig, policy: Policy, seed: int, policy_info: dict[str, Any] | None = None,
                 priority_model: Any = None, branch: dict[str, Any] | None = None, *, fork: Fork | None = None,
                 central_bank_policy: CentralBankPolicy | None = None) -> None:
        """A runner of a new episode of ``config`` with ``policy`` from ``seed`` (state ``ready``),
        or, with ``fork``, one that goes on from a copy of another runner's paused simulation (state
        ``paused``; ``config`` is then the forked env's, the other arguments are unused). ``branch``:
        the fork a re-created branch's recording names in its init. ``central_bank_policy``: plays
        the ``central_bank`` agent (``config`` must turn it on) instead of the config's rule
        (``interbank.policies.central_bank_setup``; ``policy_info`` then names it for the init)."""
        self.seed = seed
        if fork is None:
            info = {"policy": policy.name, "seed": seed, **(policy_info or {}),
                    "priority_model": "learned" if priority_model is not None else config.priority.model}
            run_info: dict[str, Any] = {"run": info}
            if branch is not None:  # re-creating a branch's recording: its init names the fork
                run_info["branch"] = branch
            env = parallel_env(config, record_events=True, run_info=run_info, priority_model=priority_model)
            if central_bank_policy is not None:
                env.central_bank_policy = central_bank_policy  # a ValueError when the config has no agent
            policy.reset(seed)
            env.reset(seed=seed)
            pending: list[Event] = list(env.drain_events())
            fork = Fork(env, policy, pending[0], deque(maxlen=EXPOSURE_STEPS), "ready", pending)
        self.policy = fork.policy
        self.env = fork.env
        self.state = fork.state
        self.lock = threading.RLock()
        # only the events not handed out yet: the runner keeps no history (a session's
        # stream history is the front end's business, bounded there)
        self._pending: list[Event] = fork.pending
        self.init_event: Event = fork.init_event  # kept for branches: their init is this one, naming the fork
        self._exposures: deque[dict[str, Any]] = fork.exposures
        self._record_exposures()
        self._status = self._read_status()

    # --------------------------------------------------------------- events
    def take_events(self) -> list[Event]:
        """Events produced since the last call (each event is handed out once)."""
        with self.lock:
            out = self._pending
            if self.env is not None:
                out.extend(self.env.drain_events())
            self._pending = []
            return out

    @property
    def finished(self) -> bool:
        return self.state in FINISHED_STATES

    def status(self) -> Status:
        """The status as of the last step or command. Safe to call from any thread while a step
        runs in another (it never reads the system mid-step)."""
        return self._status

    def exposures(self, step: int | None = None, limit: int | None = None) -> dict[str, Any] | None:
        """The interbank exposures (lender -> borrower, outstanding amount per pair) as of
        ``step`` (the latest snapshot at or before it; default the newest), the ``limit``
        largest first. Banks are indices into the init event's ``banks``. ``None`` when that
        step is older than the snapshots kept. Safe from any thread."""
        kept = list(self._exposures)
        if step is not None:
            kept = [x for x in kept if x["step"] <= step]
        return exposure_answer(kept[-1], limit) if kept else None

    def kept_exposures(self) -> list[dict[str, Any]]:
        """The exposure snapshots kept (oldest first), as taken: what a store keeps of a finished session."""
        return list(self._exposures)

    def kept_exposure_bytes(self) -> int:
        """About what the exposure snapshots kept take in memory (Python lists: ~100 bytes a pair)."""
        return sum(100 * len(x["amount"]) + 200 for x in list(self._exposures))

    def _record_exposures(self) -> None:
        lender, borrower, amount = self.env.system.ledger.pairs()
        order = np.argsort(-amount, kind="stable")
        snap = {"step": int(self.env.system.t), "total": float(amount.sum()), "lender": lender[order].tolist(),
                "borrower": borrower[order].tolist(), "amount": amount[order].tolist(),
                "defaulted": int(self.env.system.defaulted.sum())}
        if self._exposures and self._exposures[-1]["step"] == snap["step"]:
            self._exposures.pop()  # a command changed this step's exposures: keep the latest
        self._exposures.append(snap)

    def _read_status(self) -> Status:
        s = self.env.system
        return Status(
            self.state, s.t, s.max_steps, int(s.active.sum()), int(s.defaulted.sum()), int(s.deleted.sum()),
            s.total_capital(), s.policy_rate, s.min_capital_ratio,
        )

    # ----------------------------------------------------------------- step
    def step(self) -> bool:
        """Advance one step if running (``ready`` starts running). Returns whether it stepped."""
        with self.lock:
            if self.state == "ready":
                self.state = "running"
            if self.state != "running":
                return False
            try:
                self.env.step_batch(batch_actions(self.policy, self.env))
                if self.env.system.done:
                    self.state = "complete"
            finally:
                self._record_exposures()
                self._status = self._read_status()
            return True

    def release(self) -> None:
        """Give a finished runner's simulation back (its arrays, policy and exposure history): what
        is left answers ``status``, ``exposures`` (the last step, and the steps just before defaults)
        and ``init_event``. Commands are
        refused as for any finished runner."""
        with self.lock:
            if not self.finished or self.env is None:
                return
            self._pending.extend(self.env.drain_events())
            self.env = None  # type: ignore[assignment]
            self.policy = None  # type: ignore[assignment]
            self._exposures = deque(_before_defaults(self._exposures), maxlen=EXPOSURE_STEPS)

    def branch(self, parent: str) -> Runner:
        """A copy of this paused runner (``parent``: the session id its init will name): same
        state, same random streams, paused at the same step, nothing shared."""
        with self.lock:
            refused = COMMAND_BY_NAME["branch"].refusal(self.state)
            if refused:
                raise CommandError(409, refused)
            self._pending.extend(self.env.drain_events())
            policy, env = copy.deepcopy((self.policy, self.env))
            init = copy.deepcopy(self.init_event)
            init["data"]["config"]["branch"] = {"parent": parent, "step": int(self.env.system.t),
                                                "seq": int(self.env.system.log.seq) - 1}
            fork = Fork(env, policy, init, deque(self._exposures, maxlen=EXPOSURE_STEPS), "paused", [])
            return Runner(env.config, policy, self.seed, fork=fork)

    # ------------------------------------------------------------- commands
    def command(self, name: str, bank: str | None = None, amount: Any = None, operation: str | None = None) -> Event:
        """Apply a command; returns the control event it produced. ``operation`` is for
        ``central_bank`` only (one of ``CENTRAL_BANK_OPERATIONS``)."""
        with self.lock:
            event = self._command(name, bank, amount, operation)
            self._record_exposures()
            self._status = self._read_status()
            return event

    def _command(self, name: str, bank: str | None, amount: Any, operation: str | None) -> Event:
        """Check ``name`` against its row of the table (known, operation, state), run its handler and
        return the control event it produced."""
        spec = COMMAND_BY_NAME.get(name)
        if spec is None or spec.event is None:
            raise CommandError(422, f"unknown command {name!r}; expected one of {', '.join(COMMANDS)}")
        check_takes(name, {"bank": bank, "amount": amount, "operation": operation})
        if "operation" in spec.takes and operation not in CENTRAL_BANK_OPERATIONS:
            got = "none" if operation is None else repr(operation)
            raise CommandError(422, f"{name} needs operation, one of {', '.join(CENTRAL_BANK_OPERATIONS)}; got {got}")
        if self.finished:
            raise CommandError(409, f"{name} refused: the session is {self.state}")
        refused = spec.refusal(self.state)
        if refused:
            raise CommandError(409, refused)
        spec.handler(self, bank, amount, operation)
        new = self.env.drain_events()
        self._pending.extend(new)
        return next(e for e in reversed(new) if e["type"] == spec.event)

    # each handler: (bank, amount, operation), run once the table's checks have passed
    def _pause(self, bank: str | None, amount: Any, operation: str | None) -> None:
        self.state = "paused"
        self.env.emit("paused", {"step": self.env.system.t})

    def _resume(self, bank: str | None, amount: Any, operation: str | None) -> None:
        self.state = "running"
        self.env.emit("resumed", {"step": self.env.system.t})

    def _stop(self, bank: str | None, amount: Any, operation: str | None) -> None:
        self.state = "stopped"
        self.env.emit("stopped", {"step": self.env.system.t, "reason": "user"})
        self.env.system.stop("stopped")
        self.env.events.extend(self.env.system.log.drain())

    def check_bank(self, command: str, bank: Any) -> int:
        """The index of ``bank`` if ``command`` can take it, else a CommandError (missing: 422,
        unknown: 404, gone: 409; ``delete_bank`` also takes a defaulted bank still listed): what a
        front end asks before it asks for an amount."""
        idx = self._bank_index(command, bank)
        if not (command == "delete_bank" and self.env.system.defaulted[idx] and not self.env.system.deleted[idx]):
            self._check_active(bank, idx)
        return idx

    def _delete_bank(self, bank: str | None, amount: Any, operation: str | None) -> None:
        idx = self.check_bank("delete_bank", bank)
        if self.env.system.defaulted[idx]:
            self.env.delete_failed_bank(bank)  # the seed's "delete failed banks": a defaulted bank leaves the network
            return
        self.env.delete_bank(bank)

    def _add_capital(self, bank: str | None, amount: Any, operation: str | None) -> None:
        self.check_bank("add_capital", bank)
        self.env.add_capital(bank, _amount(amount))

    def _central_bank_command(self, bank: str | None, amount: Any, operation: str | None) -> None:
        if operation != "inject":
            if bank is not None:
                raise CommandError(422, f"central_bank {operation} takes no bank")
            self._central_bank(operation, None, _number(amount, f"central_bank {operation} needs amount (a number in [0, 1])"))
            return
        self.check_bank(f"central_bank {operation}", bank)
        self._central_bank(operation, bank, _amount(amount))

    def _central_bank(self, operation: str, bank: str | None, amount: float) -> None:
        """The env's intervention; its ValueError / KeyError (it changed nothing) become CommandErrors.
        With the central bank agent on, the person's command stands for the coming step (the agent
        holds in it, then decides again)."""
        self._intervene(operation, bank, amount)
        if self.env.central_bank_agent is not None:
            self.env.central_bank_agent.override()

    def _bank_index(self, what: str, bank: str | None) -> int:
        """The index of ``bank``, a known agent name (422 when missing, 404 when unknown)."""
        if not isinstance(bank, str) or not bank:
            raise CommandError(422, f"{what} needs bank (an agent name such as bank_3)")
        if bank not in self.env.agent_index:
            raise CommandError(404, f"unknown bank {clipped(repr(bank))}")
        return self.env.agent_index[bank]

    def _check_active(self, bank: str, idx: int) -> None:
        if not self.env.system.active[idx]:
            state = "deleted" if self.env.system.deleted[idx] else "defaulted"
            raise CommandError(409, f"bank {bank} is gone ({state}) and cannot be changed")

    def _intervene(self, operation: str, bank: str | None, amount: float) -> None:
        """The env's intervention; its ValueError / KeyError (it changed nothing) become CommandErrors."""
        try:
            self.env.central_bank(operation, bank, amount)
        except ValueError as err:
            raise CommandError(422, str(err)) from None
        except KeyError as err:
            message = err.args[0] if err.args else f"bank {bank!r}"
            raise CommandError(404 if bank not in self.env.agent_index else 409, str(message)) from None


# the commands: one row each (name, states, arguments, event, handler), in the order the vocabulary
# serves them. An interrupted session is re-created paused by the commands that revive it
# (``revives``: the ones the vocabulary lists for it); the server refuses the others (409)
COMMAND_TABLE: tuple[Command, ...] = (
    Command("pause", ("ready", "running"), (), "paused", Runner._pause, revives=True),
    Command("resume", ("paused",), (), "resumed", Runner._resume, revives=True),
    Command("stop", ("ready", "running", "paused"), (), "stopped", Runner._stop, revives=True),
    Command("delete_bank", ("paused",), ("bank",), "bank_deleted", Runner._delete_bank),
    Command("add_capital", ("paused",), ("bank", "amount"), "capital_added", Runner._add_capital),
    Command("central_bank", ("paused",), ("operation", "bank", "amount"), "central_bank", Runner._central_bank_command),
    Command("branch", ("paused",), ("step",), None, Runner.branch),
)
COMMAND_BY_NAME: dict[str, Command] = {c.name: c for c in COMMAND_TABLE}
# commands on the simulation (each produces its control event) and commands on a session (none)
COMMANDS: tuple[str, ...] = tuple(c.name for c in COMMAND_TABLE if c.event is not None)
SESSION_COMMANDS: tuple[str, ...] = tuple(c.name for c in COMMAND_TABLE if c.event is None)
CONTROL_EVENT: dict[str, str] = {c.name: c.event for c in COMMAND_TABLE if c.event is not None}


def check_takes(name: str, given: dict[str, Any]) -> None:
    """A 422 when ``given`` (field: value, ``None`` = not given) sets a field that command ``name``
    does not take (its row's ``takes``), naming the commands that do."""
    for key, value in given.items():
        if value is not None and key not in COMMAND_BY_NAME[name].takes:
            users = ", ".join(c.name for c in COMMAND_TABLE if key in c.takes)
            raise CommandError(422, f"{name} takes no {key} ({key} is for {users})")


def _number(value: Any, message: str) -> float:
    """``value`` as a float if it is a real number (not a bool, not a string), else a 422."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise CommandError(422, f"{message}, got {value!r}")
    try:
        return float(value)
    except OverflowError:
        raise CommandError(422, f"{message}, got an integer too large for a float") from None


def _amount(value: Any) -> float:
    """An intervention's dollars, checked by the env's own rule (``positive_amount``), as a 422."""
    if value is None:
        raise CommandError(422, "amount is missing: give a positive finite number")
    try:
        return positive_amount(value)
    except ValueError as err:
        raise CommandError(422, str(err)) from None

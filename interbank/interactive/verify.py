"""Re-simulate a recorded event stream and report the first difference.

A run is reproducible from its init event (resolved config, seed, policy) and
its control events (each applied at the step it records). Interventions are
replayed at the same points, so a faithful recording re-creates itself byte
for byte. ``central_bank`` events are commands only for the operations a
command can ask for (inject, set_policy_rate, set_capital_requirement); the
simulation's own (lending_facility, repayment) and the central bank agent's
decisions (``source: "agent"``) are re-created by stepping; a learned central bank
is loaded from the checkpoint its init names (``run.central_bank.checkpoint_path``).
"""

from __future__ import annotations

import itertools
import json
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from interbank.config import MAX_SEED, ConfigError, parse_env_config
from interbank.ui import clipped
from interbank.interactive.runner import CONTROL_EVENT, Runner, is_command_event
from interbank.policies import BASELINES, check_policy_params, make_policy
from interbank.policies.central_bank import load_central_bank_policy
from interbank.policies.checkpoint import load_checkpoint
from interbank.sim.events import dumps

CONTROL_TO_COMMAND = {event: command for command, event in CONTROL_EVENT.items()}


def runner_from_init(init: dict[str, Any]) -> Runner:
    if not isinstance(init, dict) or init.get("type") != "init":
        raise ConfigError("the stream does not start with an init event")
    cfg = init.get("data", {}).get("config") if isinstance(init.get("data"), dict) else None
    if not isinstance(cfg, dict) or not isinstance(cfg.get("resolved"), dict) or not isinstance(cfg.get("run"), dict):
        raise ConfigError("the init event has no resolved config and run facts (record it with interbank replay or serve)")
    run = cfg["run"]
    env_cfg = parse_env_config(cfg["resolved"], source="init event")
    seed = run.get("seed")
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise ConfigError(f"the init event's run.seed must be a whole number in [0, {MAX_SEED}], got {clipped(repr(seed))}")
    priority = None
    if run.get("checkpoint_path"):
        if not isinstance(run["checkpoint_path"], str):
            raise ConfigError("the init event's run.checkpoint_path must be a path")
        policy, priority, _ = load_checkpoint(run["checkpoint_path"])
    else:
        name = run.get("baseline", run.get("policy"))  # "baseline": a rule with parameters (run.policy names both)
        if not isinstance(name, str) or name not in BASELINES:
            raise ConfigError(f"the init event's run.policy must be one of {', '.join(BASELINES)}, got {clipped(repr(name))}")
        params = run.get("params") or {}
        try:
            policy = make_policy(name, seed, **check_policy_params(name, params if isinstance(params, dict) else {"?": params}))
        except (TypeError, ValueError) as err:
            raise ConfigError(f"the init event's run.params: {err}") from None
    info = {k: v for k, v in run.items() if k not in ("policy", "seed", "priority_model")}
    central_bank = None
    if isinstance(run.get("central_bank"), dict):  # a learned central bank: its checkpoint
        path = run["central_bank"].get("checkpoint_path")
        if not isinstance(path, str):
            raise ConfigError("the init event's run.central_bank.checkpoint_path must be a path")
        central_bank = load_central_bank_policy(path)
    # a branch's init names its parent and fork step (config.branch); the replay's init must too
    return Runner(env_cfg, policy, seed, info, priority_model=priority, branch=cfg.get("branch"),
                  central_bank_policy=central_bank)


def command_of(event: dict[str, Any]) -> tuple[str, str | None, Any, str | None]:
    """The ``Runner.command`` arguments (name, bank, amount, operation) that produced a control event."""
    name, data = CONTROL_TO_COMMAND[event["type"]], event["data"]
    if name == "delete_bank":
        return name, data.get("bank"), None, None
    if name == "add_capital":
        return name, data.get("bank"), data.get("amount"), None
    if name == "central_bank":
        op = data.get("operation")
        if op == "inject":
            return name, data.get("bank"), data.get("amount"), op
        return name, None, data.get("value"), op
    return name, None, None, None


@dataclass
class Replay:
    """What :func:`replay` found: the ``runner`` where the recording ends (ready to go on from
    there), the events ``compared`` and the first ``difference`` (None: the replay re-created the
    recording byte for byte)."""

    runner: Runner
    compared: int
    difference: str | None = None


def replay(recorded: Iterable[dict[str, Any]]) -> Replay:
    """Re-simulate a recorded stream in lockstep with it, one event at a time (nothing is kept but
    the runner, so a recording of any length replays in bounded memory). Each recorded command
    event is re-applied when the replay reaches it (at the step it records); the replay stops at the
    first difference or at the end of the recording. ``interbank replay --verify`` and a server
    re-creating an interrupted session both use it."""
    events = iter(recorded)
    first = next(events, None)
    runner = runner_from_init(first)  # a ConfigError for an empty stream or one without an init
    produced: deque[dict[str, Any]] = deque(runner.take_events())
    n = 0
    for rec in itertools.chain([first], events):
        while not produced:  # the replay needs the next step, or the command the recording shows here
            if is_command_event(rec) and rec["step"] == runner.env.system.t:
                name, bank, amount, operation = command_of(rec)
                runner.command(name, bank, amount, operation)
            elif runner.finished or runner.state == "paused":
                rest = sum(1 for _ in events)
                return Replay(runner, n, f"the recording has {n + 1 + rest} events, the replay {n}")
            else:
                runner.step()
            produced.extend(runner.take_events())
        rep = _as_recorded(rec, produced.popleft())
        if dumps(rec) != dumps(rep):
            where = first_difference(rec, rep)
            return Replay(runner, n, f"first difference at seq {rec.get('seq')} ({clipped(str(rec.get('type')), 40)}, "
                                     f"step {rec.get('step')}): {where}")
        n += 1
    if produced:  # the recording ends inside a step (or a command's events)
        return Replay(runner, n, f"the recording has {n} events, the replay {n + len(produced)}")
    return Replay(runner, n)


def first_difference(a: dict[str, Any], b: dict[str, Any], path: str = "") -> str:
    """Where two events first differ, as a path into them, in one line (keys and values shown
    cut: a key of 100 characters, a value of 200)."""
    if a == b:  # equal values written differently: a recording is compared byte for byte
        return (f"{_written_differently(a, b, path) or 'the event'}: the same values written differently (keys in "
                "another order, or a number's form): the stream is compared byte for byte, in its own key order")
    if isinstance(a, dict) and isinstance(b, dict):
        for key in list(a) + [k for k in b if k not in a]:
            if key not in a or key not in b:
                return _path(path, key) + (" is missing from the replay" if key not in b else " is new in the replay")
            if a[key] != b[key]:
                return first_difference(a[key], b[key], "." + _path(path, key))
    if isinstance(a, list) and isinstance(b, list):
        for i, (x, y) in enumerate(zip(a, b)):
            if x != y:
                return first_difference(x, y, f"{path}[{i}]")
        return f"{path}: {len(a)} items recorded, {len(b)} replayed"
    return f"{path.lstrip('.') or 'the event'}: recorded {clipped(repr(a), 200)}, replayed {clipped(repr(b), 200)}"


def _path(path: str, key: Any) -> str:
    """``path.key`` as a message shows it: a key that is not a plain name as its repr, cut."""
    name = key if isinstance(key, str) and key.isidentifier() else clipped(repr(key), 100)
    return f"{path}.{name}".lstrip(".")


def _written_differently(a: Any, b: Any, path: str) -> str:
    """Where two equal values are first written differently (a mapping's keys in another order,
    or a number's form), as a path."""
    if isinstance(a, dict) and isinstance(b, dict):
        if list(a) != list(b):
            return path.lstrip(".")
        for key in a:
            if dumps(a[key]) != dumps(b[key]):
                return _written_differently(a[key], b[key], "." + _path(path, key))
    if isinstance(a, list) and isinstance(b, list):
        for i, (x, y) in enumerate(zip(a, b)):
            if dumps(x) != dumps(y):
                return _written_differently(x, y, f"{path}[{i}]")
    return path.lstrip(".")


def verify_events(recorded: Iterable[dict[str, Any]]) -> tuple[bool, str]:
    """(True, summary) when the replay re-creates the stream byte for byte, else (False, first difference)."""
    if isinstance(recorded, list) and not recorded:
        return False, "the stream is empty"
    result = replay(recorded)
    if result.difference is not None:
        return False, result.difference
    summary = f"{result.compared} events re-simulated identically"
    if not result.runner.finished:  # a prefix verifies (an interrupted session's), but say it is one
        summary += f" (the recording stops at step {result.runner.env.system.t}, before its episode ends)"
    return True, summary


def load_jsonl(path: Path) -> list[dict[str, Any]]:
    """The events of a JSONL recording, or a one-line ConfigError naming the line that is not one."""
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as err:
        raise ConfigError(f"{path}: cannot read it ({err.strerror or err})") from None
    except UnicodeDecodeError as err:
        raise ConfigError(f"{path}: not UTF-8 text (invalid byte at byte {err.start})") from None
    events = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            event = json.loads(line)
        except (json.JSONDecodeError, RecursionError):
            raise ConfigError(f"{path}: line {n} is not JSON") from None
        if not (isinstance(event, dict) and isinstance(event.get("seq"), int) and isinstance(event.get("step"), int)
                and isinstance(event.get("type"), str) and isinstance(event.get("data"), dict)):
            raise ConfigError(f"{path}: line {n} is not an event (an object with seq, step, type and data)")
        events.append(event)
    return events


ADDED_FIELDS: dict[str, tuple[str, ...]] = {"capital_added": ("snapshot",), "central_bank": ("snapshot",),
                                             "bank_deleted": ("snapshots",)}
"""Data fields an event type gained after recordings were made (optional in the schema): a recording
made before them is compared without them, so that it still verifies, re-creates and forks."""


def _as_recorded(rec: dict, rep: dict) -> dict:
    """``rep`` without the fields ``rec``'s data lacks among those its type gained later (``ADDED_FIELDS``)."""
    added = ADDED_FIELDS.get(rep.get("type"), ())
    data, recorded = rep.get("data"), rec.get("data")
    if not added or not isinstance(data, dict) or not isinstance(recorded, dict):
        return rep
    missing = [f for f in added if f in data and f not in recorded]
    return {**rep, "data": {k: v for k, v in data.items() if k not in missing}} if missing else rep

"""``interbank replay``: the interactive runner in a terminal.

Keys (single key presses, no Enter): ``p`` pause, ``r`` resume, ``s`` stop, and
while paused ``c`` add capital / ``i`` inject central bank liquidity (each asks
for the bank and the amount) / ``d`` delete a bank (asks for the bank). The
live view shows the step, active banks, defaults, total capital, the policy
rate and capital requirement, and the latest events. A two-policy run folder
(banks + central bank) replays both: its learned central bank decides unless
``--central-bank RULE`` names a rule; a person's central bank command while
paused stands for that step.
"""

from __future__ import annotations

import argparse
import contextlib
import select
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from interbank.config import ConfigError, EnvConfig, load_env_config, resolve_env_config
from interbank.policies.central_bank_setup import with_central_bank
from interbank.interactive.runner import MIN_SPEED, CommandError, Runner
from interbank.interactive.verify import load_jsonl, verify_events
from interbank.jsonl import JsonlError, JsonlWriter
from interbank.policies import make_policy
from interbank.policies.checkpoint import CheckpointError, load_checkpoint
from interbank.sim.events import Event, feed_line
from interbank.ui import fail, note_listed_banks, table

Format = Callable[[dict[str, Any]], str]

# one line per event type (and per central bank operation) in the terminal's feed
_LINES: dict[str, Format] = {
    "transaction": lambda d: f"{d['bank']} {d['action']} {d['counterparty'] or d['market'] or ''} "
                             f"{d['amount']:,.2f} ({d['priority']})",
    "default": lambda d: f"{d['bank']} DEFAULTED ({d['cause']}, equity {d['equity']:,.2f})",
    "cascade": lambda d: f"cascade: {len(d['defaulted'])} banks, depth {d['depth']}, losses {d['losses']:,.2f}",
    "paused": lambda d: "paused",
    "resumed": lambda d: "resumed",
    "stopped": lambda d: "stopped",
    "capital_added": lambda d: f"{d['bank']} +{d['amount']:,.2f} capital (equity {d['equity']:,.2f})",
    "bank_deleted": lambda d: f"{d['bank']} deleted",
    "complete": lambda d: f"complete ({d['reason']})",
}
_CENTRAL_BANK: dict[str, Format] = {
    "inject": lambda d: f"central bank: {d['bank']} +{d['amount']:,.2f} emergency liquidity at {d['rate']:.2%}",
    "set_policy_rate": lambda d: f"central bank: policy rate set to {d['value']:.2%}",
    "set_capital_requirement": lambda d: f"central bank: minimum capital ratio set to {d['value']:.2%}",
    "lending_facility": lambda d: f"{d['bank']} drew {d['amount']:,.2f} from the central bank at {d['rate']:.2%}",
    "repayment": lambda d: f"{d['bank']} repaid {d['amount']:,.2f} to the central bank",
    # the central bank agent's own decisions
    "hold": lambda d: "central bank: holds" + (" (a person's command stands this step)" if d.get("overridden") else ""),
    "set_ccyb": lambda d: f"central bank: countercyclical buffer set to {d['value']:.2%}",
    "set_haircuts": lambda d: f"central bank: facility haircuts x {d['value']:g}",
}


# event types the feed shows no line for: the live table above it shows their figures
FEED_IGNORED: tuple[str, ...] = ("init", "step_start", "profit_booking", "step_end")


def describe(event: Event) -> str | None:
    """The feed's line for an event (None: the event is not shown in the feed, as a trade of nothing)."""
    d, t = event["data"], event["type"]
    if t == "transaction" and not d.get("amount"):
        return None
    line = _CENTRAL_BANK.get(d["operation"]) if t == "central_bank" else _LINES.get(t)
    if line is None:
        return feed_line(event)  # a registered type's own feed line, if any
    text = line(d)
    if t == "central_bank" and d.get("source") == "agent" and d["operation"] != "hold":
        text += f" (agent: {d['decision']})"
    return text


class _Keys:
    """Non-blocking single-key reads from a terminal (cbreak mode), restored on exit."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled and sys.stdin.isatty()
        self.saved = None

    def __enter__(self) -> "_Keys":
        self.cbreak()
        return self

    def cbreak(self) -> None:
        """Single key presses without Enter; the previous mode is kept for ``restore``."""
        if self.enabled:
            import termios
            import tty

            self.saved = termios.tcgetattr(sys.stdin)
            tty.setcbreak(sys.stdin.fileno())

    def __exit__(self, *exc) -> None:
        self.restore()

    def restore(self) -> None:
        if self.saved is not None:
            import termios

            termios.tcsetattr(sys.stdin, termios.TCSADRAIN, self.saved)
            self.saved = None

    def read(self, timeout: float) -> str | None:
        timeout = min(max(0.0, timeout), 1.0 / MIN_SPEED)
        if not self.enabled:
            time.sleep(timeout)
            return None
        ready, _, _ = select.select([sys.stdin], [], [], timeout)
        return sys.stdin.read(1) if ready else None

    def prompt(self, text: str) -> str:
        self.restore()
        try:
            return input(text).strip()
        except EOFError:
            return ""
        finally:
            self.cbreak()


def _config(args: argparse.Namespace, folder: Path | None) -> EnvConfig:
    from interbank.run_folder import training_env_config

    if args.config is not None:
        cfg = load_env_config(args.config)
    else:
        cfg = (training_env_config(folder) if folder else None) or EnvConfig()
    overrides = {}
    if args.banks:
        overrides["n_banks"] = args.banks
        note_listed_banks("replay", cfg, args.banks)
    if args.steps:
        overrides["max_steps"] = args.steps
    return resolve_env_config(cfg, **overrides) if overrides else cfg


def _view(runner: Runner, feed: list[str], out: TextIO) -> None:
    st = runner.status()
    lines = [
        f"interbank replay  [{st.state}]  step {st.step}/{st.max_steps}  active {st.active_banks}  "
        f"defaults {st.defaults}  deleted {st.deleted}  total capital {st.total_capital:,.2f}  "
        f"policy rate {st.policy_rate:.2%}  min capital ratio {st.min_capital_ratio:.2%}",
        "keys: p pause  r resume  s stop"
        + ("  |  c add capital  i inject liquidity  d delete bank" if st.state == "paused" else ""),
        "",
        *feed[-12:],
    ]
    out.write("\x1b[H\x1b[2J" + "\n".join(lines) + "\n")
    out.flush()


def replay(args: argparse.Namespace) -> int:
    if args.verify:
        if args.events is None:
            fail("replay --verify needs --events FILE.jsonl (the recording to check)")
        # the recording says what to re-simulate (its config, seed, policy and commands): any other
        # flag would be silently ignored, so it is refused
        given = [flag for flag, value in (("CHECKPOINT", args.checkpoint), ("--policy", args.policy),
                                          ("--config", args.config), ("--banks", args.banks), ("--steps", args.steps),
                                          ("--seed", args.seed), ("--central-bank", getattr(args, "central_bank", None)))
                 if value is not None]
        if given:
            fail(f"replay --verify re-simulates the recording as it was made: it takes --events alone, not {given[0]}")
        if not args.events.is_file():
            fail(f"--events: {args.events} is a folder, not a recording" if args.events.is_dir()
                 else f"--events: no such file {args.events}")
        try:
            recorded = load_jsonl(args.events)
        except ConfigError as err:
            fail(str(err))
        try:
            ok, message = verify_events(recorded)
        except (ConfigError, CheckpointError, CommandError, KeyError) as err:
            fail(f"{args.events}: cannot re-simulate: {err}")
        print(("verified: " if ok else "DIFFERENT: ") + message)
        return 0 if ok else 1

    if args.checkpoint is not None and args.policy is not None:
        fail(f"replay plays a CHECKPOINT or a --policy, not both (got {args.checkpoint} and --policy {args.policy})")
    if args.checkpoint is None and args.policy is None:
        fail("replay needs a CHECKPOINT or --policy NAME (one of them)")
    if not 0 <= args.speed < float("inf") or 0 < args.speed < MIN_SPEED:
        fail(f"--speed {args.speed} must be 0 (as fast as possible) or a finite number of steps per second >= {MIN_SPEED}")
    folder = None
    priority = None
    try:
        if args.checkpoint is not None:
            policy, priority, folder = load_checkpoint(args.checkpoint)
            info = {"checkpoint_path": str(folder.resolve())}
        else:
            policy, info = None, {}
        rule, params = getattr(args, "central_bank", None) or (None, None)
        cb = with_central_bank(_config(args, folder), rule, args.checkpoint, params)
        cfg, info = cb.config, {**info, **cb.info}
        # the scenario's own seed unless --seed says otherwise, as simulate does
        seed = cfg.episode_seed(args.seed)
        if policy is None:
            policy = make_policy(args.policy, seed)
    except (ConfigError, CheckpointError) as err:
        fail(str(err))
    if args.events is not None and args.events.parent and not args.events.parent.exists():
        fail(f"--events: folder {args.events.parent} does not exist")
    if args.events is not None and args.events.is_dir():
        fail(f"--events: {args.events} is a folder; give a file name")

    runner = Runner(cfg, policy, seed, info, priority_model=priority, central_bank_policy=cb.policy)
    interactive = not args.no_interactive and sys.stdin.isatty() and sys.stdout.isatty()
    feed: list[str] = []
    try:
        sink = JsonlWriter(args.events) if args.events else None
    except JsonlError as err:
        fail(f"--events: {err}")
    period = 1.0 / args.speed if args.speed > 0 and interactive else 0.0

    def flush() -> None:
        events = runner.take_events()
        if sink is not None:
            try:
                sink.write(events)
            except JsonlError as err:
                fail(f"--events: {err} (the file holds the events up to the last whole line)")
        for e in events:
            text = describe(e)
            if text:
                feed.append(f"{e['step']:>5}  {text}")
        del feed[:-200]

    try:
        with _Keys(interactive) as keys, (sink or contextlib.nullcontext()):
            flush()
            while not runner.finished:
                started = time.perf_counter()
                runner.step()
                flush()
                if interactive:
                    _view(runner, feed, sys.stdout)
                    key = keys.read(period - (time.perf_counter() - started))
                    while key is not None and not runner.finished:
                        _handle_key(key, runner, keys, feed)
                        flush()
                        _view(runner, feed, sys.stdout)
                        key = keys.read(0.2) if runner.state == "paused" else None
            flush()
    except KeyboardInterrupt:
        if not runner.finished:
            runner.command("stop")
            flush()
    st = runner.status()
    print(table(("", "value"), [
        ("state", st.state), ("steps", st.step), ("active banks", st.active_banks), ("defaults", st.defaults),
        ("deleted", st.deleted), ("total capital", f"{st.total_capital:,.2f}"),
        *([("events", str(args.events))] if args.events else []),
    ]))
    return 0


def _handle_key(key: str, runner: Runner, keys: _Keys, feed: list[str]) -> None:
    try:
        if key == "p":
            runner.command("pause")
        elif key == "r":
            runner.command("resume")
        elif key == "s":
            runner.command("stop")
        elif key == "c":
            bank = keys.prompt("add capital to bank (e.g. bank_3): ")
            raw = keys.prompt("amount: ")
            runner.command("add_capital", bank, _parse_amount(raw))
        elif key == "i":
            bank = keys.prompt("inject central bank liquidity into bank (e.g. bank_3): ")
            runner.command("central_bank", bank, _parse_amount(keys.prompt("amount: ")), "inject")
        elif key == "d":
            runner.command("delete_bank", keys.prompt("delete bank (e.g. bank_3): "))
    except CommandError as err:
        feed.append(f"      refused: {err.message}")


def _parse_amount(raw: str) -> object:
    """A typed amount as a float; anything else is passed on for the runner to refuse."""
    try:
        return float(raw)
    except ValueError:
        return raw

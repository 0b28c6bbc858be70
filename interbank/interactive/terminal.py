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
import math
import os
import re
import select
import shutil
import signal
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TextIO

from interbank.config import ConfigError, EnvConfig, load_env_config, resolve_env_config
from interbank.policies.central_bank_setup import with_central_bank
from interbank.ui import clipped
from interbank.interactive.runner import COMMAND_BY_NAME, MIN_SPEED, CommandError, Runner
from interbank.interactive.verify import load_jsonl, verify_events
from interbank.jsonl import JsonlError, JsonlWriter
from interbank.policies import make_policy, recorded_as
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


_ESCAPES = re.compile(r"\x1b(?:\[[0-9;?]*[ -/]*[@-~]|O.|.)?")  # arrow and function keys: not commands


class Interrupted(Exception):
    """A signal asked the program to end (Ctrl-C, SIGTERM, SIGHUP, Ctrl-\\)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


class _Ending:
    """The signals that end a replay (Ctrl-C, SIGTERM, SIGHUP, Ctrl-\\), as ``Interrupted``.

    While the replay works (a step, writing its events, a command, drawing) a signal is only
    noted, and ``check`` raises it between those: a stream is never cut inside a step or a
    write (it would not re-simulate). It is raised at once only while the replay waits (for a
    key, or a prompt's line: ``waiting``). A second signal is noted and dropped: the stop and the
    stream's last events are written whole. A signal ignored when the replay started (``nohup``,
    a background job) stays ignored. The previous handlers come back on exit."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)

    def __init__(self) -> None:
        self.waiting = False
        self.signum: int | None = None
        self._handlers: dict[int, Any] = {}

    def __enter__(self) -> "_Ending":
        for sig in self.SIGNALS:
            if signal.getsignal(sig) is not signal.SIG_IGN:
                self._handlers[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        for sig, handler in self._handlers.items():
            signal.signal(sig, handler)

    def _handle(self, signum: int, frame: Any) -> None:
        if self.signum is not None:
            return  # the first one is being handled
        self.signum = signum
        if self.waiting:
            raise Interrupted(signum)

    def check(self) -> None:
        """Raise the signal noted, if any."""
        if self.signum is not None:
            raise Interrupted(self.signum)

    @contextlib.contextmanager
    def wait(self) -> Iterator[None]:
        """Around a blocking wait: a signal ends it at once (one noted before it too)."""
        self.waiting = True
        try:
            self.check()
            yield
        finally:
            self.waiting = False


class _Keys:
    """Single key presses from a terminal (cbreak mode: no Enter, no echo), restored on exit;
    Ctrl-Z suspends with the terminal as it was and ``fg`` takes up where it was (single keys,
    or a prompt's line). Keys are read from the file descriptor, all that is waiting at once:
    keys typed together are each handled, and a prompt takes its line from what was typed ahead
    first; escape sequences (arrow keys) are left out of the keys."""

    def __init__(self, enabled: bool, ending: _Ending) -> None:
        self.enabled = enabled
        self.ending = ending
        self.saved = None
        self.typed = ""  # read from the terminal, not yet taken as keys or a prompt's line
        self._handlers: dict[int, Any] = {}
        self.fd = sys.stdin.fileno() if enabled else -1

    def __enter__(self) -> "_Keys":
        if self.enabled and signal.getsignal(signal.SIGTSTP) is not signal.SIG_IGN:
            self._handlers[signal.SIGTSTP] = signal.signal(signal.SIGTSTP, self._suspend)
        self.cbreak()
        return self

    def cbreak(self) -> None:
        """Single key presses without Enter; the previous mode is kept for ``restore``."""
        if self.enabled and self.saved is None:
            import termios
            import tty

            try:
                self.saved = termios.tcgetattr(self.fd)
                tty.setcbreak(self.fd, termios.TCSANOW)  # (TCSAFLUSH, its default, would drop keys typed already)
            except termios.error:  # the terminal hung up: no keys from it
                self.enabled = False

    def __exit__(self, *exc) -> None:
        self.restore()
        for sig, handler in self._handlers.items():
            signal.signal(sig, handler)
        self._handlers.clear()

    def restore(self) -> None:
        if self.saved is not None:
            import termios

            with contextlib.suppress(termios.error):  # (a terminal that hung up has no mode to restore)
                termios.tcsetattr(self.fd, termios.TCSADRAIN, self.saved)
            self.saved = None

    def _suspend(self, signum: int, frame: Any) -> None:
        """Ctrl-Z: the terminal as it was, stopped; on ``fg``, the mode it was in (a prompt's line
        mode stays line mode)."""
        single_keys = self.saved is not None
        self.restore()
        signal.signal(signal.SIGTSTP, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTSTP)  # stops here until continued
        signal.signal(signal.SIGTSTP, self._suspend)
        if single_keys:
            self.cbreak()

    def _fill(self, timeout: float) -> bool:
        """Read what the terminal holds into ``typed``, waiting at most ``timeout`` seconds for it."""
        with self.ending.wait():
            ready, _, _ = select.select([self.fd], [], [], max(0.0, timeout))
        if not ready:
            return False
        try:
            data = os.read(self.fd, 1024)
        except OSError:  # (EIO: the terminal hung up)
            data = b""
        if not data:  # the terminal closed
            self.enabled = False
            return False
        self.typed += data.decode("utf-8", "ignore")
        return True

    def read(self, timeout: float) -> str | None:
        """The next key (lower case: Caps Lock is not a different command), waiting at most
        ``timeout`` seconds; None when none came."""
        if not self.typed and not (self.enabled and self._fill(timeout)):
            return None
        while self.typed:
            escape = _ESCAPES.match(self.typed)
            if escape:
                self.typed = self.typed[escape.end():]
                continue
            key, self.typed = self.typed[0], self.typed[1:]
            return key.lower()
        return None

    def prompt(self, text: str) -> str | None:
        """A line typed (with Enter, echoed, editable with the terminal's own keys): from what was
        typed ahead first, then read from the file descriptor in the terminal's line mode (keys
        typed after it stay in the terminal for the key reader; ``input()`` would buffer them out
        of its reach). None when cancelled (Ctrl-D on an empty line)."""
        ahead, newline, rest = self.typed.partition("\n")
        if newline:  # a whole line typed ahead (pasted)
            self.typed = rest
            print(text + ahead)
            return ahead.strip()
        self.typed = ""
        if not self.enabled:
            return None
        self.restore()
        try:
            sys.stdout.write(text + ahead)
            sys.stdout.flush()
            with self.ending.wait():
                data = os.read(self.fd, 4096)
        finally:
            self.cbreak()
        line = ahead + data.decode("utf-8", "ignore")
        if not line.endswith("\n"):  # Ctrl-D: the line so far, without Enter
            print()
        return line.strip() if line else None


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


PAUSED_WAIT = 0.25  # seconds a paused replay waits for a key at a time (it redraws only on a key)
# each key: the runner's command it sends, what the view calls it, and (for those asking for a bank) the prompt's verb
KEYS: dict[str, tuple[str, str, str | None]] = {
    "p": ("pause", "pause", None), "r": ("resume", "resume", None), "s": ("stop", "stop", None),
    "c": ("add_capital", "add capital", "add capital to"),
    "i": ("central_bank", "inject liquidity", "inject central bank liquidity into"),
    "d": ("delete_bank", "delete bank", "delete"),
}
KEYS_HELP = "keys: " + "  ".join(f"{k} {label}" for k, (_, label, verb) in KEYS.items() if verb is None)
PAUSED_HELP = "  |  " + "  ".join(f"{k} {label}" for k, (_, label, verb) in KEYS.items() if verb is not None)


def _view(runner: Runner, feed: list[str], out: TextIO) -> None:
    """The live view, fitted to the terminal (lines cut at its width, the feed to its height);
    a ``TERM=dumb`` terminal gets the lines without the escape codes that clear the screen."""
    st = runner.status()
    columns, rows = shutil.get_terminal_size((100, 24))
    head = [
        f"interbank replay  [{st.state}]  step {st.step}/{st.max_steps}  active {st.active_banks}  "
        f"defaults {st.defaults}  deleted {st.deleted}  total capital {st.total_capital:,.2f}  "
        f"policy rate {st.policy_rate:.2%}  min capital ratio {st.min_capital_ratio:.2%}",
        KEYS_HELP + (PAUSED_HELP if st.state == "paused" else ""),
        "",
    ]
    width = max(columns - 1, 20)
    room = max(rows - len(head) - 1, 1)
    # the header cut at the width, the feed's lines wrapped (a refusal's reason is read to its end)
    wrapped = [part for line in feed[-room:] for part in textwrap.wrap(line, width, subsequent_indent=" " * 8) or [""]]
    lines = [line[:width] for line in head] + wrapped[-room:]
    dumb = os.environ.get("TERM", "") == "dumb"
    out.write(("" if dumb else "\x1b[H\x1b[2J") + "\n".join(lines) + "\n")
    out.flush()


def _is_tty(stream: TextIO | None) -> bool:
    """A terminal (a closed standard stream is None: not one)."""
    try:
        return stream is not None and stream.isatty()
    except ValueError:  # closed
        return False


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
        given += ["--no-interactive"] * args.no_interactive + ["--paused"] * args.paused
        if given:
            fail(f"replay --verify re-simulates the recording as it was made: it takes --events alone, not {given[0]}")
        if not args.events.is_file():
            fail(f"--events: {args.events} is a folder, not a recording" if args.events.is_dir()
                 else f"--events: {args.events} is not a regular file" if args.events.exists()
                 else f"--events: no such file {args.events}")
        try:
            recorded = load_jsonl(args.events)
        except ConfigError as err:
            fail(str(err))
        try:
            ok, message = verify_events(recorded)
        except (ConfigError, CheckpointError, CommandError, KeyError) as err:
            fail(f"{args.events}: cannot re-simulate: {err}")
        except MemoryError:
            fail(f"{args.events}: cannot re-simulate: not enough memory for its network")
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
            info = {**info, **recorded_as(args.policy, {}, policy)}  # (so that --verify makes it again)
    except (ConfigError, CheckpointError) as err:
        fail(str(err))
    if args.events is not None and args.events.parent and not args.events.parent.exists():
        fail(f"--events: folder {args.events.parent} does not exist")
    if args.events is not None and args.events.is_dir():
        fail(f"--events: {args.events} is a folder; give a file name")

    interactive = not args.no_interactive and _is_tty(sys.stdin) and _is_tty(sys.stdout)
    if args.paused and not interactive:
        fail("--paused needs the keys of a terminal to resume (not --no-interactive, nor input that is not a terminal)")
    runner = Runner(cfg, policy, seed, info, priority_model=priority, central_bank_policy=cb.policy)
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

    ending = None
    with _Ending() as signals, _Keys(interactive, signals) as keys, (sink or contextlib.nullcontext()):
        try:
            if args.paused:
                runner.command("pause")
            flush()
            if interactive:
                _view(runner, feed, sys.stdout)
            due = time.perf_counter()
            while not runner.finished:
                signals.check()
                if runner.state != "paused" and time.perf_counter() >= due:
                    due = time.perf_counter() + period
                    runner.step()
                    flush()
                    if interactive:
                        _view(runner, feed, sys.stdout)
                if not interactive or runner.finished:
                    continue
                # keys until the next step is due (a key does not hurry it), or while paused until one comes
                wait = PAUSED_WAIT if runner.state == "paused" else due - time.perf_counter()
                key = keys.read(wait)
                if key is not None:
                    _handle_key(key, runner, keys, feed)
                    flush()
                    _view(runner, feed, sys.stdout)
                elif not keys.enabled:  # the terminal closed: no key will come (a paused replay stops)
                    interactive = False
                    if runner.state == "paused":
                        runner.command("stop")
            flush()
        except Interrupted as err:
            ending = err
            if not runner.finished:
                runner.command("stop")
            flush()  # (the stream written whole, its ``stopped`` event included)
    st = runner.status()
    print(table(("", "value"), [
        ("state", st.state), ("steps", st.step), ("active banks", st.active_banks), ("defaults", st.defaults),
        ("deleted", st.deleted), ("total capital", f"{st.total_capital:,.2f}"),
        *([("events", str(args.events))] if args.events else []),
    ]))
    # Ctrl-C is how a replay is stopped (0); another signal's usual status otherwise
    return 0 if ending is None or ending.signum == signal.SIGINT else 128 + ending.signum


def _handle_key(key: str, runner: Runner, keys: _Keys, feed: list[str]) -> None:
    """A key's command. Those that ask for a bank (c, i, d) are refused at once unless paused,
    and a bank that is not one is refused before the amount is asked for."""
    if key not in KEYS:
        return
    name, _, verb = KEYS[key]
    try:
        if verb is None:
            runner.command(name)
            return
        refused = COMMAND_BY_NAME[name].refusal(runner.state)
        if refused:
            raise CommandError(409, f"{refused} (press p first)")
        bank = keys.prompt(f"{verb} bank (e.g. {runner.env.possible_agents[0]}): ")
        if not bank:
            return  # cancelled
        runner.check_bank(name, bank)  # (refused before the amount is asked for)
        if name == "delete_bank":
            runner.command(name, bank)
            return
        raw = keys.prompt("amount: ")
        if raw is None or raw == "":
            return  # cancelled
        runner.command(name, bank, _parse_amount(raw), "inject" if name == "central_bank" else None)
    except CommandError as err:
        feed.append(f"      refused: {err.message}")


_PLAIN_NUMBER = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$")


def _parse_amount(raw: str) -> Any:
    """A typed amount (plain digits, a decimal point, an exponent: 2500, 2.5e3) as a float;
    anything else is passed on as typed for the runner to refuse, naming it."""
    if not _PLAIN_NUMBER.match(raw):
        if re.fullmatch(r"[+-]?[\d,_ ]+(?:\.\d*)?", raw):
            raise CommandError(422, f"amount {clipped(raw)!r}: write the number without separators (2500, not 2,500)")
        return clipped(raw)
    value = float(raw)
    return value if math.isfinite(value) else clipped(raw)

"""The terminal replay driven through a real pseudo-terminal: keys pause, add capital, inject liquidity, resume, stop."""

import fcntl
import json
import os
import pty
import signal
import select
import subprocess
import sys
import termios
import time

import pytest

from tests.deadlines import HANG_S


class _Screen:
    """What the replay has written to the pseudo-terminal so far; ``until`` waits for a text."""

    def __init__(self, fd):
        self.fd, self.text, self.mark = fd, "", 0

    def _pump(self, timeout):
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if ready:
            try:
                self.text += os.read(self.fd, 65536).decode(errors="replace")
            except OSError:
                return False
        return True

    def until(self, needle, timeout=HANG_S):
        # a deadline for a condition, not a wait: generous so that a busy machine does not fail it
        """Wait until ``needle`` appears in what was written since the last ``until``; returns that text."""
        end = time.time() + timeout
        while needle not in self.text[self.mark:]:
            if time.time() > end or not self._pump(0.05):
                raise AssertionError(f"timed out waiting for {needle!r}; the screen ends with:\n{self.text[-1500:]}")
        found = self.text.index(needle, self.mark) + len(needle)
        seen, self.mark = self.text[self.mark:found], found
        return seen

    def drain(self, proc):
        while proc.poll() is None and self._pump(0.05):
            pass


def test_keys_pause_add_capital_inject_liquidity_resume_and_stop(tmp_path):
    events = tmp_path / "run.jsonl"
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "interbank.cli", "replay", "--policy", "heuristic", "--banks", "8", "--steps", "5000",
         "--speed", "20", "--seed", "2", "--events", str(events)],
        stdin=slave, stdout=slave, stderr=slave, close_fds=True,
    )
    os.close(slave)
    screen = _Screen(master)
    try:
        screen.until("interbank replay")
        screen.until("[running]")
        os.write(master, b"p")
        assert "i inject liquidity" in screen.until("[paused]") + screen.until("inject liquidity")
        os.write(master, b"c")
        screen.until("add capital to bank")
        os.write(master, b"bank_1\n")
        screen.until("amount:")
        os.write(master, b"250\n")
        screen.until("+250.00 capital")
        os.write(master, b"i")
        screen.until("inject central bank liquidity into bank")
        os.write(master, b"bank_2\n")
        screen.until("amount:")
        os.write(master, b"400\n")
        screen.until("central bank: bank_2 +400.00 emergency liquidity")
        os.write(master, b"i")
        screen.until("inject central bank liquidity into bank")
        os.write(master, b"bank_2\n")
        screen.until("amount:")
        os.write(master, b"-3\n")
        screen.until("refused: amount must be a positive finite number, got -3.0")
        os.write(master, b"c")
        screen.until("add capital to bank")
        os.write(master, b"bank_99\n")  # refused before the amount is asked for
        screen.until("refused: unknown bank 'bank_99'")
        os.write(master, b"r")
        screen.until("[running]")
        os.write(master, b"s")
        screen.until("stopped")
        screen.drain(proc)
        proc.wait(timeout=HANG_S)
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)
    assert proc.returncode == 0
    recorded = [json.loads(line) for line in events.read_text().splitlines()]
    controls = [e["type"] if e["type"] != "central_bank" else e["data"]["operation"] for e in recorded
                if e["type"] in ("paused", "capital_added", "resumed", "stopped")
                or e["type"] == "central_bank" and e["data"]["operation"] == "inject"]
    assert controls == ["paused", "capital_added", "inject", "resumed", "stopped"]
    assert recorded[-1]["type"] == "complete"
    verify = subprocess.run([sys.executable, "-m", "interbank.cli", "replay", "--events", str(events), "--verify"],
                            capture_output=True, text=True, timeout=HANG_S)
    assert verify.returncode == 0 and verify.stdout.startswith("verified:"), verify.stdout + verify.stderr


def test_the_terminal_feed_shows_no_trade_of_nothing():
    from interbank.interactive.terminal import describe

    trade = {"bank": "bank_1", "action": "LEND", "counterparty": "bank_2", "market": None, "priority": "PROFIT"}
    assert describe({"seq": 5, "step": 1, "type": "transaction", "data": {**trade, "amount": 0.0}}) is None
    assert describe({"seq": 5, "step": 1, "type": "transaction", "data": {**trade, "amount": 12.5}}) == \
        "bank_1 LEND bank_2 12.50 (PROFIT)"


@pytest.mark.parametrize("extra, seed", [((), 7), (("--seed", "3"), 3)])
def test_replay_plays_the_scenarios_own_seed_unless_told_otherwise(tmp_path, extra, seed):
    # configs/stress.yaml says seed: 7, the episode simulate --config stress plays
    events = tmp_path / "run.jsonl"
    run = subprocess.run([sys.executable, "-m", "interbank.cli", "replay", "--config", "stress", "--policy", "heuristic",
                          "--steps", "2", "--speed", "0", "--no-interactive", "--events", str(events), *extra],
                         capture_output=True, text=True, timeout=HANG_S)
    assert run.returncode == 0, run.stderr
    first = json.loads(events.read_text().splitlines()[0])
    assert first["type"] == "init" and first["data"]["config"]["run"]["seed"] == seed


# ------------------------------------------------------------------ a terminal's ways to misuse it
def _replay_in_pty(*args):
    """``interbank replay ARGS`` on a fresh pseudo-terminal, its controlling terminal (so that
    Ctrl-C typed there is a SIGINT, as in a shell): (process, master fd, screen)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "interbank.cli", "replay", *args],
                            stdin=slave, stdout=slave, stderr=slave, close_fds=True, start_new_session=True,
                            preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0))
    os.close(slave)
    return proc, master, _Screen(master)


def _ended(proc, master, screen):
    """(exit status, whether the terminal is back in canonical mode) once the replay has ended."""
    screen.drain(proc)
    proc.wait(timeout=HANG_S)
    return proc.returncode, bool(termios.tcgetattr(master)[3] & termios.ICANON)  # (the slave's mode, read through the master)


def _stopped_by_key(proc, master, screen):
    """``_ended`` after the s key."""
    os.write(master, b"s")
    screen.until("stopped")
    return _ended(proc, master, screen)


def _kill(proc, master):
    if proc.poll() is None:
        proc.kill()
        proc.wait(timeout=HANG_S)
    os.close(master)


def _verify(events):
    return subprocess.run([sys.executable, "-m", "interbank.cli", "replay", "--events", str(events), "--verify"],
                          capture_output=True, text=True, timeout=HANG_S)


def test_keys_typed_together_are_each_handled_and_arrow_keys_are_not_commands(tmp_path):
    proc, master, screen = _replay_in_pty("--policy", "heuristic", "--banks", "4", "--steps", "5000", "--speed", "2",
                                          "--paused")
    try:
        screen.until("[paused]  step 0/")  # --paused: nothing stepped before a key
        os.write(master, b"\x1b[D\x1b[Ar")  # arrows (ESC [ D: not "d", delete) then r, in one write
        screen.until("[running]")
        os.write(master, b"pr")  # typed together: paused, then resumed
        screen.until("resumed")
        screen.until("[running]")
        os.write(master, b"P")  # Caps Lock is not another command
        screen.until("[paused]")
        assert _stopped_by_key(proc, master, screen) == (0, True)
    finally:
        _kill(proc, master)
    assert "delete bank (e.g." not in screen.text


def test_bank_commands_while_running_are_refused_at_the_key_and_a_paused_replay_does_not_redraw_idly():
    proc, master, screen = _replay_in_pty("--policy", "hold", "--banks", "4", "--steps", "5000", "--speed", "0")
    try:
        screen.until("[running]")
        os.write(master, b"c")
        screen.until("refused: add_capital needs a paused session")
        screen.until("(press p first)")
        os.write(master, b"p")
        screen.until("[paused]")
        frames = screen.text.count("interbank replay")
        os.write(master, b"d")
        screen.until("delete bank (e.g. bank_0): ")
        # between the pause and the prompt: the paused view and the prompt's, not a redraw per wait
        assert screen.text.count("interbank replay") - frames <= 2
        os.write(master, b"\x04")  # Ctrl-D: the prompt is cancelled, nothing asked after it
        assert _stopped_by_key(proc, master, screen) == (0, True)
    finally:
        _kill(proc, master)


@pytest.mark.parametrize("how", ["ctrl-c", "sigterm", "sighup"])
def test_a_replay_ended_by_a_signal_keeps_its_stream_whole_and_the_terminal_as_it_was(tmp_path, how):
    events = tmp_path / "run.jsonl"
    proc, master, screen = _replay_in_pty("--policy", "heuristic", "--banks", "4", "--steps", "5000", "--speed", "50",
                                          "--events", str(events))
    try:
        screen.until("[running]")
        if how == "ctrl-c":
            os.write(master, b"\x03")
        else:
            proc.send_signal(signal.SIGTERM if how == "sigterm" else signal.SIGHUP)
        screen.until("stopped")
        screen.until("total capital")  # the summary table
        code, canonical = _ended(proc, master, screen)
    finally:
        _kill(proc, master)
    assert canonical and code == {"ctrl-c": 0, "sigterm": 128 + signal.SIGTERM, "sighup": 128 + signal.SIGHUP}[how]
    assert "Traceback" not in screen.text and "is closed" not in screen.text
    types = [json.loads(line)["type"] for line in events.read_text().splitlines()]
    assert types[-2:] == ["stopped", "complete"]
    verify = _verify(events)
    assert verify.returncode == 0 and verify.stdout.startswith("verified:"), verify.stdout + verify.stderr


def test_a_closed_stdin_runs_the_replay_straight_through():
    run = subprocess.run([sys.executable, "-m", "interbank.cli", "replay", "--policy", "hold", "--banks", "3",
                          "--steps", "3"], capture_output=True, text=True, timeout=HANG_S,
                         stdin=subprocess.DEVNULL, preexec_fn=lambda: os.close(0))
    assert run.returncode == 0 and "Traceback" not in run.stderr and "complete" in run.stdout, run.stderr


@pytest.mark.parametrize("policy", ["carry", "lend_surplus", "invest_momentum", "buy_below_path", "capital_guard"])
def test_every_baseline_recorded_by_replay_verifies(tmp_path, policy):
    events = tmp_path / "run.jsonl"
    run = subprocess.run([sys.executable, "-m", "interbank.cli", "replay", "--policy", policy, "--banks", "4",
                          "--steps", "4", "--speed", "0", "--no-interactive", "--events", str(events)],
                         capture_output=True, text=True, timeout=HANG_S)
    assert run.returncode == 0, run.stderr
    verify = _verify(events)
    assert verify.returncode == 0 and verify.stdout.startswith("verified:"), verify.stdout + verify.stderr


def test_verify_names_what_an_edited_recording_got_wrong_in_one_line(tmp_path):
    events = tmp_path / "run.jsonl"
    subprocess.run([sys.executable, "-m", "interbank.cli", "replay", "--policy", "hold", "--banks", "3", "--steps", "2",
                    "--speed", "0", "--no-interactive", "--events", str(events)], check=True, timeout=HANG_S,
                   capture_output=True)
    lines = [json.loads(line) for line in events.read_text().splitlines()]

    def edited(name, change):
        first = json.loads(json.dumps(lines[0]))
        change(first)
        path = tmp_path / name
        path.write_text("\n".join(json.dumps(e) for e in [first, *lines[1:]]) + "\n")
        return _verify(path)

    for name, change, expected in [
        ("policy.jsonl", lambda e: e["data"]["config"]["run"].update(policy=["hold"]), "run.policy must be one of"),
        ("seed.jsonl", lambda e: e["data"]["config"]["run"].update(seed=2**64), "run.seed must be a whole number in"),
        ("order.jsonl", lambda e: e.update(data=dict(reversed(list(e["data"].items())))), "the same values written differently"),
    ]:
        result = edited(name, change)
        assert result.returncode != 0 and expected in result.stdout + result.stderr, result.stdout + result.stderr
        assert "Traceback" not in result.stderr and len((result.stdout + result.stderr).strip().splitlines()) == 1


@pytest.mark.parametrize("signals", [(signal.SIGTERM,), (signal.SIGINT, signal.SIGINT)])
def test_signals_while_stepping_flat_out_leave_a_whole_stream(tmp_path, signals):
    # --speed 0 without a terminal: the signal lands inside a step or a write, almost never at a wait
    events = tmp_path / "run.jsonl"
    proc = subprocess.Popen([sys.executable, "-m", "interbank.cli", "replay", "--policy", "heuristic", "--banks", "30",
                             "--steps", "100000", "--speed", "0", "--events", str(events)],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        end = time.time() + HANG_S
        while not events.exists() or events.read_bytes().count(b'"type":"step_end"') < 20:
            assert time.time() < end and proc.poll() is None, "the replay did not get going"
            time.sleep(0.02)
        for sig in signals:
            proc.send_signal(sig)
        out, err = proc.communicate(timeout=HANG_S)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == (0 if signals[0] == signal.SIGINT else 128 + signals[0]), err
    assert "Traceback" not in err and "state          stopped" in out
    recorded = [json.loads(line) for line in events.read_text().splitlines()]
    assert [e["seq"] for e in recorded] == list(range(len(recorded)))
    assert [e["type"] for e in recorded[-2:]] == ["stopped", "complete"]
    verify = _verify(events)
    assert verify.returncode == 0 and verify.stdout.startswith("verified:"), verify.stdout + verify.stderr


def test_a_signal_ignored_when_the_replay_started_stays_ignored(tmp_path):
    events = tmp_path / "run.jsonl"
    proc = subprocess.Popen([sys.executable, "-m", "interbank.cli", "replay", "--policy", "hold", "--banks", "5",
                             "--steps", "100000", "--speed", "0", "--events", str(events)],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGHUP, signal.SIG_IGN))  # as nohup starts it

    def steps():
        return events.read_bytes().count(b'"type":"step_end"') if events.exists() else 0

    try:
        end = time.time() + HANG_S
        while steps() < 5:
            assert time.time() < end and proc.poll() is None
            time.sleep(0.02)
        proc.send_signal(signal.SIGHUP)
        seen = steps()
        while steps() < seen + 20:  # it goes on
            assert time.time() < end and proc.poll() is None, "SIGHUP ended a replay started with it ignored"
            time.sleep(0.02)
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=HANG_S)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 128 + signal.SIGTERM


def test_a_command_typed_ahead_with_its_answers_is_carried_out_whole():
    proc, master, screen = _replay_in_pty("--policy", "hold", "--banks", "4", "--steps", "5000", "--speed", "2",
                                          "--paused")
    try:
        screen.until("[paused]  step 0/")
        os.write(master, b"cbank_1\n250\n")  # pasted: the key, then the bank's and the amount's lines
        screen.until("bank_1 +250.00 capital")
        assert _stopped_by_key(proc, master, screen) == (0, True)
    finally:
        _kill(proc, master)


def test_a_paused_replay_whose_keyboard_hangs_up_stops_instead_of_spinning(tmp_path):
    events = tmp_path / "run.jsonl"
    keys_master, keys_slave = pty.openpty()  # the keys' terminal, apart from the screen's
    screen_master, screen_slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "interbank.cli", "replay", "--policy", "hold", "--banks", "3",
                             "--steps", "500", "--paused", "--events", str(events)],
                            stdin=keys_slave, stdout=screen_slave, stderr=screen_slave, close_fds=True)
    os.close(keys_slave)
    os.close(screen_slave)
    screen = _Screen(screen_master)
    try:
        screen.until("[paused]  step 0/")
        os.close(keys_master)  # the keyboard hangs up
        screen.until("state          stopped")
        screen.drain(proc)
        assert proc.wait(timeout=HANG_S) == 0
    finally:
        _kill(proc, screen_master)
    assert [json.loads(line)["type"] for line in events.read_text().splitlines()][-2:] == ["stopped", "complete"]

"""The terminal replay driven through a real pseudo-terminal: keys pause, add capital, inject liquidity, resume, stop."""

import json
import os
import pty
import select
import subprocess
import sys
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
        os.write(master, b"bank_99\n")
        screen.until("amount:")
        os.write(master, b"5\n")
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

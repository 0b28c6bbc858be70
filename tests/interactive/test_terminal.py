"""The terminal replay driven through a real pseudo-terminal: keys pause, add capital, resume, stop."""

import json
import os
import pty
import select
import subprocess
import sys
import time


def _read(fd, seconds):
    out = b""
    end = time.time() + seconds
    while time.time() < end:
        ready, _, _ = select.select([fd], [], [], 0.05)
        if ready:
            try:
                out += os.read(fd, 65536)
            except OSError:
                break
    return out.decode(errors="replace")


def test_keys_pause_add_capital_resume_and_stop(tmp_path):
    events = tmp_path / "run.jsonl"
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "interbank.cli", "replay", "--policy", "heuristic", "--banks", "8", "--steps", "500",
         "--speed", "20", "--seed", "2", "--events", str(events)],
        stdin=slave, stdout=slave, stderr=slave, close_fds=True,
    )
    os.close(slave)
    try:
        screen = _read(master, 3.0)
        assert "interbank replay" in screen and "[running]" in screen
        os.write(master, b"p")
        assert "[paused]" in _read(master, 1.5)
        os.write(master, b"c")
        assert "add capital to bank" in _read(master, 1.0)
        os.write(master, b"bank_1\n")
        _read(master, 0.5)
        os.write(master, b"250\n")
        assert "+250.00 capital" in _read(master, 1.5)
        os.write(master, b"c")
        _read(master, 0.5)
        os.write(master, b"bank_99\n")
        _read(master, 0.3)
        os.write(master, b"5\n")
        assert "refused: unknown bank 'bank_99'" in _read(master, 1.5)
        os.write(master, b"r")
        _read(master, 1.0)
        os.write(master, b"s")
        tail = _read(master, 3.0)
        assert "stopped" in tail
        proc.wait(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)
    assert proc.returncode == 0
    types = [json.loads(line)["type"] for line in events.read_text().splitlines()]
    controls = [t for t in types if t in ("paused", "capital_added", "resumed", "stopped")]
    assert controls == ["paused", "capital_added", "resumed", "stopped"]
    assert types[-1] == "complete"
    verify = subprocess.run([sys.executable, "-m", "interbank.cli", "replay", "--events", str(events), "--verify"],
                            capture_output=True, text=True, timeout=120)
    assert verify.returncode == 0 and verify.stdout.startswith("verified:"), verify.stdout + verify.stderr

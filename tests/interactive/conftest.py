import atexit
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager

import httpx
import pytest

from tests.deadlines import HANG_S


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(*args: str, ready_timeout: float = HANG_S):
    """Start `interbank serve` on a free port with ``args``; returns (process, base URL) once it answers.
    The wait is for a condition (the server answering), generous so a busy machine does not fail it."""
    port = free_port()
    if "--data-dir" not in args and "--no-store" not in args:
        if "--spill-dir" in args or "--spill-mb" in args:
            args = (*args, "--no-store")  # a test of the temporary spill: no database
        else:  # a database of its own, never the user's (nor another test server's: it locks its folder)
            folder = tempfile.mkdtemp(prefix="interbank-test-store-")
            atexit.register(shutil.rmtree, folder, True)
            args = (*args, "--data-dir", folder)
    proc = subprocess.Popen(
        [sys.executable, "-m", "interbank.cli", "serve", "--port", str(port), *args],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    end = time.time() + ready_timeout
    while True:
        try:
            httpx.get(base + "/api/checkpoints", timeout=HANG_S)
            return proc, base
        except httpx.HTTPError:
            if proc.poll() is not None or time.time() > end:
                proc.kill()
                raise RuntimeError(proc.stdout.read().decode()) from None
            time.sleep(0.1)


def stop(proc) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=HANG_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=HANG_S)


def killed_mid_session(data_dir, start: dict, stored) -> str:
    """A server on ``data_dir`` runs a session started with ``start`` until ``stored(status)`` holds,
    then is killed (SIGKILL, as a crash): the session's id, interrupted for the next server there."""
    import signal

    proc, base = serve("--data-dir", str(data_dir))
    try:
        r = httpx.post(base + "/api/interactive/start", json=start, timeout=HANG_S)
        assert r.status_code == 201, r.text
        sid = r.json()["session_id"]
        end = time.monotonic() + HANG_S
        while not stored(httpx.get(base + "/api/interactive/status", params={"session_id": sid}, timeout=HANG_S).json()):
            assert time.monotonic() < end, f"session {sid} not stored in time"
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=HANG_S)
    finally:
        if proc.poll() is None:
            stop(proc)
    return sid


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A real `interbank serve` process on 127.0.0.1 with one checkpoint named `tiny`."""
    from interbank.envs.observation import N_FEATURES
    from tests.policies.test_checkpoint import _write

    ckpts = tmp_path_factory.mktemp("checkpoints")
    _write(ckpts / "tiny", n_features=N_FEATURES)  # the env's observation size, whatever it is now
    proc, base = serve("--checkpoints", str(ckpts), "--max-sessions", "50", "--client-buffer", "50")
    yield base
    stop(proc)


def scenarios_folder_with(folder, extra: dict[str, str] | None = None):
    """``folder`` holding the shipped scenarios (``configs/*.yaml``) and ``extra`` (name: YAML text)
    beside them, for a server started with ``--configs folder``."""
    from pathlib import Path

    for p in (Path(__file__).resolve().parents[2] / "configs").glob("*.yaml"):
        shutil.copy(p, folder / p.name)
    for name, text in (extra or {}).items():
        (folder / f"{name}.yaml").write_text(text)
    return folder


@contextmanager
def serving(*args: str):
    """`interbank serve` with ``args`` for the length of a block; yields (base URL, process)."""
    proc, base = serve(*args)
    try:
        yield base, proc
    finally:
        if proc.poll() is None:
            stop(proc)

import socket
import subprocess
import sys
import time
from contextlib import contextmanager

import httpx
import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serving(*args: str):
    """A real `interbank serve` process on 127.0.0.1 with ``args``; yields (base url, process)."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "interbank.cli", "serve", "--port", str(port), *args],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            httpx.get(base + "/api/checkpoints", timeout=1)
            break
        except httpx.HTTPError:
            time.sleep(0.1)
    else:
        proc.kill()
        raise RuntimeError(proc.stdout.read().decode())
    try:
        yield base, proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(timeout=10)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A real `interbank serve` process on 127.0.0.1 with one checkpoint named `tiny`."""
    from interbank.envs.observation import N_FEATURES
    from tests.policies.test_checkpoint import _write

    ckpts = tmp_path_factory.mktemp("checkpoints")
    _write(ckpts / "tiny", n_features=N_FEATURES)  # the env's observation size, whatever it is now
    with serving("--checkpoints", str(ckpts), "--max-sessions", "50", "--client-buffer", "50") as (base, _):
        yield base

"""Starting a session never loses work and never leaves the server unable to start another:
the new session is checked and built before the one it replaces is stopped, admission is decided
from an estimate before anything is built, and ended sessions give their memory back."""

import time

import httpx

from tests.deadlines import HANG_S
from tests.interactive.conftest import serving
from tests.interactive.test_server import control, status, wait_for


def _rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/statm") as f:
        return int(f.read().split()[1]) * 4096 / 1e6


def _post(base, path, body):
    return httpx.post(base + path, json=body, timeout=HANG_S)


def test_a_refused_replacing_start_leaves_the_running_session_running(server):
    old = _post(server, "/api/interactive/start", {"n_banks": 10, "steps": 5000, "speed": 20}).json()
    sid = old["session_id"]
    wait_for(lambda: status(server, sid)["step"] >= 1)
    for bad, says in [({"speed": 5000}, "speed = 5000"), ({"steps": 0}, "steps"), ({"seed": -1}, "seed"),
                      ({"policy": "lend_surplus", "params": {"k": 1}}, "no parameter 'k'"),
                      ({"policy": "lend_surplus", "params": {"c": -3}}, "c must be at least 0, got -3"),
                      ({"scenario": "nope"}, "unknown scenario")]:
        r = _post(server, "/api/interactive/start", {"n_banks": 10, "replace": sid, **bad})
        assert r.status_code in (404, 422) and says in r.json()["error"], r.text
        assert status(server, sid)["state"] == "running", bad
    step = status(server, sid)["step"]
    wait_for(lambda: status(server, sid)["step"] > step)  # it still steps
    # an accepted one is built first, then the old one is stopped
    new = _post(server, "/api/interactive/start", {"policy": "hoard", "n_banks": 10, "speed": 0, "replace": sid})
    assert new.status_code == 201, new.text
    assert status(server, sid)["state"] == "stopped"
    assert new.json()["session_id"] != sid
    assert _post(server, "/api/interactive/start", {"replace": "nosuchid"}).json() == {"error": "unknown session 'nosuchid'"}


def test_a_large_start_is_refused_before_it_is_built_and_a_small_one_then_runs(tmp_path):
    """The sequence of the console's memory report: stress with hold at 1,000 banks for ~50 steps,
    Stop; stress at 10,000 banks (more than this server's budget: refused from the estimate,
    before anything is built); then the default scenario at 20 banks starts and runs."""
    with serving("--memory-budget-mb", "150") as (base, proc):
        first = _post(base, "/api/interactive/start", {"scenario": "stress", "policy": "hold", "n_banks": 1000,
                                                       "steps": 400, "speed": 50})
        assert first.status_code == 201, first.text
        sid = first.json()["session_id"]
        wait_for(lambda: status(base, sid)["step"] >= 50)
        assert control(base, session_id=sid, command="stop").status_code == 200
        wait_for(lambda: status(base, sid)["state"] == "stopped")
        before = _rss_mb(proc.pid)
        t = time.monotonic()
        big = _post(base, "/api/interactive/start", {"scenario": "stress", "policy": "hold", "n_banks": 10000, "speed": 5})
        assert big.status_code == 503, big.text
        error = big.json()["error"]
        assert "not enough memory for a session of 10000 banks" in error and "MB" in error and "\n" not in error
        # decided from the estimate: nothing was built (building 10,000 banks takes ~40 MB and a while)
        assert _rss_mb(proc.pid) - before < 15, (before, _rss_mb(proc.pid))
        assert time.monotonic() - t < 0.5 * HANG_S
        small = _post(base, "/api/interactive/start", {"speed": 20})
        assert small.status_code == 201, small.text
        wait_for(lambda: status(base, small.json()["session_id"])["step"] >= 3)
        memory = httpx.get(base + "/api/interactive/sessions", timeout=HANG_S).json()["memory"]
        assert memory["budget_mb"] == 150 and memory["reserved_mb"] < 150


def test_starts_and_branches_sent_at_once_never_open_more_than_max_sessions():
    """Each start is admitted before it is built and holds its place while it is built: starts sent
    together got past --max-sessions (12 of them all opened on a server of 8)."""
    from concurrent.futures import ThreadPoolExecutor

    with serving("--max-sessions", "3") as (base, _):
        def start(_):
            return _post(base, "/api/interactive/start", {"n_banks": 300, "steps": 50, "paused": True}).status_code

        with ThreadPoolExecutor(8) as pool:
            codes = sorted(pool.map(start, range(8)))
        assert codes == [201] * 3 + [429] * 5, codes
        sessions = httpx.get(base + "/api/interactive/sessions", timeout=HANG_S).json()["sessions"]
        assert len(sessions) == 3
        # branches of a paused session, sent together, are held to the same bound once a place is free
        sid = sessions[0]["session_id"]
        assert control(base, session_id=sessions[1]["session_id"], command="stop").status_code == 200
        wait_for(lambda: status(base, sessions[1]["session_id"])["state"] == "stopped")

        def branch(_):
            return control(base, session_id=sid, command="branch").status_code

        with ThreadPoolExecutor(4) as pool:
            codes = sorted(pool.map(branch, range(4)))
        assert codes.count(429) == 3 and len(codes) == 4, codes
        sessions = httpx.get(base + "/api/interactive/sessions", timeout=HANG_S).json()["sessions"]
        assert [s["state"] for s in sessions].count("paused") == 3, sessions  # (the stopped one stays listed from the store)

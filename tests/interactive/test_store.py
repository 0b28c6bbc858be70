"""Sessions that outlive the server: the SQLite store under --data-dir, a killed server, export."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading

import httpx
import pytest

from interbank.interactive.store import Store
from tests.deadlines import HANG_S
from tests.interactive.conftest import killed_mid_session, serve, stop
from tests.interactive.test_server import control, start, status, wait_for


def _read_lines(url: str, into: list[str], stop_event: threading.Event) -> None:
    """Collect the raw data lines of an SSE stream until it ends, the server dies or ``stop_event``."""
    try:
        with httpx.stream("GET", url, timeout=HANG_S) as response:
            for line in response.iter_lines():
                if line.startswith("data:"):
                    into.append(line[5:].lstrip(" "))
                if stop_event.is_set():
                    return
    except httpx.HTTPError:  # the server was killed under it
        return


def _export(base: str, sid: str) -> list[str]:
    r = httpx.get(f"{base}/api/interactive/stream/{sid}.jsonl", timeout=HANG_S)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/x-ndjson")
    assert f"interbank-{sid}.jsonl" in r.headers["content-disposition"]
    assert r.text.endswith("\n")
    return r.text.splitlines()


def _verify(lines: list[str], tmp_path, name: str) -> subprocess.CompletedProcess:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    return subprocess.run([sys.executable, "-m", "interbank.cli", "replay", "--events", str(path), "--verify"],
                          capture_output=True, text=True, timeout=HANG_S)


def test_a_killed_server_loses_no_committed_step_and_the_session_resumes_from_it(tmp_path):
    data = tmp_path / "data"
    proc, base = serve("--data-dir", str(data))
    seen: list[str] = []
    done = threading.Event()
    try:
        s = start(base, n_banks=12, steps=3000, seed=3, speed=40)
        sid = s["session_id"]
        viewer = threading.Thread(target=_read_lines, args=(base + s["stream_url"], seen, done), daemon=True)
        viewer.start()
        wait_for(lambda: status(base, sid)["step"] >= 4)
        assert control(base, session_id=sid, command="pause").status_code == 200
        added = control(base, session_id=sid, command="add_capital", bank="bank_2", amount=250.0).json()["event"]
        assert control(base, session_id=sid, command="resume").status_code == 200
        wait_for(lambda: status(base, sid)["step"] >= added["step"] + 6)
        # killed once the intervention and some steps after it are on disk and on the wire
        committed = {"seq": -1}  # the last event the store had committed, as the server said before the kill

        def on_disk_and_wire() -> bool:
            committed["seq"] = status(base, sid)["stored_seq"]
            return committed["seq"] > added["seq"] + 50 and len(seen) > added["seq"] + 50

        wait_for(on_disk_and_wire)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=HANG_S)
    finally:
        done.set()
        if proc.poll() is None:
            stop(proc)
    viewer.join(timeout=HANG_S)
    before = list(seen)

    proc, base = serve("--data-dir", str(data))
    try:
        listed = {x["session_id"]: x for x in httpx.get(base + "/api/interactive/sessions", timeout=HANG_S).json()["sessions"]}
        assert listed[sid]["state"] == "interrupted"
        stored = _export(base, sid)
        # complete: every event committed before the kill is there; exact: the stream the viewer read
        # before the kill agrees with it byte for byte as far as both go (either may be ahead of the
        # other: the viewer reads at its own pace, the writer commits at its own)
        shared = min(len(stored), len(before))
        assert len(stored) > committed["seq"] > added["seq"] + 50 and shared > added["seq"] + 50
        assert stored[:shared] == before[:shared]
        assert json.loads(stored[added["seq"]]) == added
        assert json.loads(stored[-1])["type"] in ("step_end", "complete")
        # the SSE stream of the session read back from disk is the same
        tail: list[str] = []
        got = threading.Event()
        reader = threading.Thread(target=_read_lines, args=(
            f"{base}/api/interactive/stream/{sid}?last_event_id={len(stored) - 20}", tail, got), daemon=True)
        reader.start()
        wait_for(lambda: len(tail) >= 19)
        assert tail[:19] == stored[-19:]

        # resumed from its last committed step: re-created paused there, then it goes on
        r = control(base, session_id=sid, command="resume")
        assert r.status_code == 200, r.text
        assert r.json()["state"] == "running" and r.json()["event"]["type"] == "resumed"
        last_step = json.loads(stored[-1])["step"]
        wait_for(lambda: status(base, sid)["step"] >= last_step + 5)
        wait_for(lambda: len(tail) >= 19 + 10)  # the viewer attached before the resume sees it go on
        assert control(base, session_id=sid, command="stop").json()["state"] == "stopped"
        final = _export(base, sid)
        assert final[:len(stored)] == stored
        resumed = [json.loads(x) for x in final[len(stored):len(stored) + 2]]
        assert [e["type"] for e in resumed] == ["paused", "resumed"] and resumed[0]["step"] == last_step
        assert json.loads(final[-1])["type"] == "complete"
        got.set()
        verified = _verify(final, tmp_path, "resumed.jsonl")
        assert verified.returncode == 0 and verified.stdout.startswith("verified:"), verified.stdout + verified.stderr
    finally:
        stop(proc)


def test_finished_sessions_and_branches_are_listed_and_readable_after_a_restart(tmp_path):
    data = tmp_path / "data"
    proc, base = serve("--data-dir", str(data))
    try:
        s = start(base, n_banks=12, steps=30, seed=1, paused=True)
        sid = s["session_id"]
        control(base, session_id=sid, command="add_capital", bank="bank_1", amount=10.0)
        child = control(base, session_id=sid, command="branch").json()
        for x in (sid, child["session_id"]):
            assert control(base, session_id=x, command="resume").status_code == 200
        for x in (sid, child["session_id"]):
            wait_for(lambda x=x: status(base, x)["state"] == "complete")
        wait_for(lambda: all(status(base, x)["stored_seq"] == status(base, x)["last_seq"] for x in (sid, child["session_id"])))
        originals = {x: _export(base, x) for x in (sid, child["session_id"])}
        networks = {q: _exposures(base, sid, q) for q in ("", "?step=29&limit=3")}
        assert networks[""]["step"] == 30 and networks[""]["count"] > 0
        db = sqlite3.connect(data / "sessions.db")
        wait_for(lambda: db.execute("SELECT count(*) FROM exposures WHERE session = ?", (sid,)).fetchone()[0] > 0)
        db.close()
    finally:
        stop(proc)  # a graceful stop this time
    proc, base = serve("--data-dir", str(data))
    try:
        listed = {x["session_id"]: x for x in httpx.get(base + "/api/interactive/sessions", timeout=HANG_S).json()["sessions"]}
        assert listed[sid]["state"] == "complete" and listed[child["session_id"]]["parent"] == sid
        assert listed[child["session_id"]]["fork_step"] == 0
        for x, lines in originals.items():
            assert _export(base, x) == lines
            r = httpx.get(f"{base}/api/interactive/init/{x}", timeout=HANG_S)
            assert r.text == lines[0]
            raw = httpx.get(f"{base}/api/interactive/stream/{x}", timeout=HANG_S).text
            assert [ln[6:] for ln in raw.split("\r\n") if ln.startswith("data: ")] == lines
            assert _verify(lines, tmp_path, f"{x}.jsonl").returncode == 0
        # its network as of its last step is drawn as before the restart (the steps before it: not kept)
        assert _exposures(base, sid, "") == networks[""]
        assert _exposures(base, sid, "?step=29&limit=3") == networks["?step=29&limit=3"]
        r = control(base, session_id=sid, command="resume")
        assert r.status_code == 409 and "complete" in r.json()["error"]
    finally:
        stop(proc)


def _exposures(base: str, sid: str, query: str):
    r = httpx.get(f"{base}/api/interactive/exposures/{sid}{query}", timeout=HANG_S)
    return r.json() if r.status_code == 200 else r.status_code


def _snapshot(step: int, pairs: int) -> dict:
    return {"step": step, "total": float(pairs), "lender": list(range(pairs)), "borrower": [pairs] * pairs,
            "amount": [1.0] * pairs, "defaulted": 0}


def test_a_finished_sessions_exposures_are_read_back_as_of_a_step_and_leave_with_it(tmp_path):
    store = Store(tmp_path, keep_sessions=1, keep_bytes=10**9)
    try:
        _fill(store, "a", 1.0, finished=True, size=10)
        before = store.sessions()[0].bytes
        store.put_exposures("a", [_snapshot(3, 2), _snapshot(9, 5)])
        wait_for(lambda: store.exposures("a") is not None)
        assert store.exposures("a") == _snapshot(9, 5)  # the last
        assert store.exposures("a", 8) == _snapshot(3, 2)  # the latest at or before the step
        assert store.exposures("a", 2) is None and store.exposures("other") is None
        assert store.sessions()[0].bytes > before  # counted against the store's limit
        store.put_exposures("a", [_snapshot(9, 1)])  # replaced, not added
        wait_for(lambda: store.exposures("a") == _snapshot(9, 1))
        assert store.exposures("a", 8) is None
        _fill(store, "b", 2.0, finished=True, size=10)  # retention drops "a" with its snapshots
        wait_for(lambda: [r.id for r in store.sessions()] == ["b"])
        store.put_exposures("a", [_snapshot(1, 1)])  # for a session gone meanwhile: nothing stored
        _fill(store, "c", 3.0, finished=False, size=10)
        wait_for(lambda: [r.id for r in store.sessions()] == ["c"])
    finally:
        store.close()
    db = sqlite3.connect(tmp_path / "sessions.db")
    try:
        assert db.execute("SELECT count(*) FROM exposures").fetchone()[0] == 0
    finally:
        db.close()


def test_a_database_of_the_first_schema_gains_the_exposures_table(tmp_path):
    Store(tmp_path).close()
    db = sqlite3.connect(tmp_path / "sessions.db")
    db.execute("DROP TABLE exposures")
    db.execute("PRAGMA user_version = 1")
    db.commit()
    db.close()
    store = Store(tmp_path)
    try:
        _fill(store, "a", 1.0, finished=True, size=10)
        store.put_exposures("a", [_snapshot(4, 3)])
        wait_for(lambda: store.exposures("a") == _snapshot(4, 3))
    finally:
        store.close()


def test_bad_ids_corrupt_databases_and_unusable_folders_are_one_line(tmp_path):
    proc, base = serve("--data-dir", str(tmp_path / "ok"))
    try:
        for url in ("/api/interactive/status?session_id=nosuch", "/api/interactive/stream/nosuch",
                    "/api/interactive/stream/nosuch.jsonl", "/api/interactive/init/nosuch"):
            r = httpx.get(base + url, timeout=HANG_S)
            assert r.status_code == 404 and r.json() == {"error": "unknown session 'nosuch'"}, url
        r = control(base, session_id="nosuch", command="resume")
        assert r.status_code == 404 and r.json() == {"error": "unknown session 'nosuch'"}
    finally:
        stop(proc)

    corrupt = tmp_path / "corrupt"
    corrupt.mkdir()
    (corrupt / "sessions.db").write_bytes(b"this is not a database, just some bytes " * 200)
    other = tmp_path / "other"
    other.mkdir()
    sqlite3.connect(other / "sessions.db").execute("CREATE TABLE t (x)").connection.close()
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    cases = [(corrupt, "not a usable interbank session database"), (other, "not a usable interbank session database"),
             (a_file, "not a folder"), (a_file / "below", "cannot create it")]
    for folder, fragment in cases:
        run = subprocess.run([sys.executable, "-m", "interbank.cli", "serve", "--port", "1", "--data-dir", str(folder)],
                             capture_output=True, text=True, timeout=HANG_S)
        assert run.returncode == 2 and run.stderr.count("\n") == 1, run.stderr
        assert run.stderr.startswith("interbank: ") and fragment in run.stderr, run.stderr
    assert (corrupt / "sessions.db").read_bytes().startswith(b"this is not a database")  # left as it was


def test_a_second_server_on_the_same_folder_is_refused(tmp_path):
    proc, _ = serve("--data-dir", str(tmp_path))
    try:
        run = subprocess.run([sys.executable, "-m", "interbank.cli", "serve", "--port", "1", "--data-dir", str(tmp_path)],
                             capture_output=True, text=True, timeout=HANG_S)
        assert run.returncode == 2 and run.stderr.count("\n") == 1 and f"pid {proc.pid}" in run.stderr, run.stderr
    finally:
        stop(proc)


def _fill(store: Store, sid: str, created: float, finished: bool, size: int = 20_000) -> None:
    store.create(sid, created, 3, 1.0, None)
    line = json.dumps({"seq": 0, "step": 0, "type": "init", "data": {"x": os.urandom(size).hex()}}) + "\n"
    store.append(sid, 0, 0, line.encode(), {"state": "complete" if finished else "running", "step": 0})
    assert store.wait(sid, 0, timeout=HANG_S)


def test_retention_drops_the_oldest_finished_sessions_first_and_never_a_running_one(tmp_path):
    store = Store(tmp_path, keep_sessions=3, keep_bytes=10**9)
    try:
        _fill(store, "live", 1.0, finished=False)  # the oldest, but running here
        _fill(store, "old", 2.0, finished=True)
        _fill(store, "mid", 3.0, finished=True)
        _fill(store, "new", 4.0, finished=True)
        wait_for(lambda: len(store.sessions()) == 3)
        assert [r.id for r in store.sessions()] == ["live", "mid", "new"] and store.dropped == {"old"}
        store.keep_bytes = 50_000  # about two sessions' worth
        _fill(store, "newest", 5.0, finished=True)
        wait_for(lambda: [r.id for r in store.sessions()] == ["live", "newest"])
        assert sum(r.bytes for r in store.sessions()) <= 50_000
    finally:
        store.close()
    reopened = Store(tmp_path)  # what was kept is there after a restart
    try:
        assert [(r.id, r.state) for r in reopened.sessions()] == [("live", "running"), ("newest", "complete")]
    finally:
        reopened.close()


def test_stepping_waits_for_a_writer_that_lags_instead_of_holding_more(tmp_path):
    store = Store(tmp_path, queue_bytes=100_000)
    try:
        store.create("s", 1.0, 3, 1.0, None)
        for seq in range(300):  # 300 chunks of ~10 kB: far more than the queue holds at once
            line = json.dumps({"seq": seq, "step": seq, "type": "step_end", "data": {"pad": "x" * 10_000}}) + "\n"
            store.append("s", seq, seq, line.encode(), {"state": "running", "step": seq})
            assert store._queued <= 100_000 + len(line)
        assert store.wait("s", 299, timeout=HANG_S)
        got = b"".join(store.lines("s", 149, 160)).splitlines()
        assert [json.loads(x)["seq"] for x in got] == list(range(150, 161))
    finally:
        store.close()


@pytest.mark.parametrize("no_store", [True, False])
def test_export_is_the_stream_as_jsonl(tmp_path, no_store):
    proc, base = serve(*(("--no-store",) if no_store else ("--data-dir", str(tmp_path))))
    try:
        s = start(base, n_banks=5, steps=12, seed=2)
        wait_for(lambda: status(base, s["session_id"])["state"] == "complete")
        raw = httpx.get(base + s["stream_url"], timeout=HANG_S).text
        lines = _export(base, s["session_id"])
        assert lines == [ln[6:] for ln in raw.split("\r\n") if ln.startswith("data: ")]
        assert _verify(lines, tmp_path, "export.jsonl").returncode == 0
    finally:
        stop(proc)


def test_an_interrupted_session_changes_only_by_the_commands_that_re_create_it(tmp_path):
    """After a crash, a command the vocabulary does not list for an interrupted session is refused
    before anything changes (a bad add_capital re-created it and put an event in its stream)."""
    data = tmp_path / "data"
    sid = killed_mid_session(data, {"n_banks": 6, "steps": 400, "seed": 2, "speed": 20}, lambda st: st["stored_seq"] > 40)
    proc, base = serve("--data-dir", str(data))
    try:
        before = status(base, sid)
        assert before["state"] == "interrupted"
        vocabulary = {c["name"]: c for c in httpx.get(base + "/api/vocabulary", timeout=HANG_S).json()["commands"]}
        for body in ({"command": "add_capital", "bank": "bank_1", "amount": -3.0},
                     {"command": "add_capital", "bank": "bank_1", "amount": 5.0},
                     {"command": "delete_bank", "bank": "bank_999"},
                     {"command": "central_bank", "operation": "inject", "bank": "bank_1", "amount": 1.0},
                     {"command": "branch"}):
            assert "interrupted" not in vocabulary[body["command"]]["when"]
            r = control(base, session_id=sid, **body)
            assert r.status_code == 409 and "is interrupted" in r.json()["error"], r.text
            assert status(base, sid) == before, body
        # the ones it lists re-create it: paused at its last step, and then it takes the others
        assert "interrupted" in vocabulary["pause"]["when"]
        assert control(base, session_id=sid, command="pause").json()["state"] == "paused"
        r = control(base, session_id=sid, command="add_capital", bank="bank_1", amount=5.0)
        assert r.status_code == 200 and r.json()["event"]["type"] == "capital_added", r.text
    finally:
        stop(proc)

"""The page's stream reader (web/stream.js, a worker) in headless Chromium against a hand-made
SSE server: line endings of every kind split across network reads, comments, multi-line data,
a large event in many pieces, reconnection from the last event read, and the end answers."""

import json
import math
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar
from urllib.parse import parse_qs, urlparse

import pytest

from tests.deadlines import HANG_MS
from tests.interactive.test_page import CHROMIUM, FLAGS

pytest.importorskip("playwright")
from playwright.sync_api import sync_playwright

STREAM_JS = Path(__file__).resolve().parents[2] / "interbank" / "interactive" / "web" / "stream.js"
BIG = "x" * 200_000
# the stream as sent, in the pieces it is written in (each flushed on its own)
PIECES = [
    b"retry: 1000\r\n\r\n",
    b": ping\r\n\r\nid: 0\r",  # CR at the end of a read, its LF at the start of the next: one line end
    b"\nevent: init\r\ndata: {\"a\":1}\r\n\r\nid: 1\nevent: step_start\ndata: one\ndata: two\n\n",  # LF, two data lines
    b"id: 2\revent: transaction\rdata: cr only\r\r",  # CR endings
    b"id: 3\r\nevent: step_end\r\ndata: " + BIG[:70_000].encode(),
    BIG[70_000:140_000].encode(),
    BIG[140_000:].encode() + b"\r\n\r\nid: 4\r\nevent: compl",
    b"ete\r\ndata:no space\r\n\r\n",
]
EXPECTED = [[0, "init", '{"a":1}'], [1, "step_start", "one\ntwo"], [2, "transaction", "cr only"],
            [3, "step_end", BIG], [4, "complete", "no space"]]


class Handler(BaseHTTPRequestHandler):
    asked: ClassVar[list[str]] = []
    pieces: ClassVar[list[bytes]] = PIECES
    finished_answer = 204

    def log_message(self, *args):  # quiet
        pass

    def do_GET(self):
        url = urlparse(self.path)
        if url.path == "/":
            return self._send(200, "text/html", b"<!doctype html><title>stream</title>")
        if url.path == "/stream.js":
            return self._send(200, "text/javascript", STREAM_JS.read_bytes())
        if url.path != "/sse":
            return self._send(404, "text/plain", b"")
        after = parse_qs(url.query).get("last_event_id", [""])[0]
        Handler.asked.append(after)
        if after != "-1":  # everything was read: as the server answers a finished session
            if Handler.finished_answer == 204:
                return self._send(204, "text/plain", b"")
            return self._send(410, "application/json", json.dumps({"error": "events before seq 9 are gone"}).encode())
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        for piece in Handler.pieces:
            self.wfile.write(piece)
            self.wfile.flush()
            time.sleep(0.02)  # pacing of the writer, so that the pieces arrive as separate reads

    def _send(self, code, kind, body):
        self.send_response(code)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture()
def site():
    Handler.asked = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _read(site, after=-1):
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        page = browser.new_page()
        page.goto(site + "/")
        page.evaluate("""(after) => { window.got = []; const w = new Worker('/stream.js');
            w.onmessage = (m) => window.got.push(m.data); w.postMessage({ open: '/sse', after, token: 7 }); }""", after)
        page.wait_for_function("window.got.some(m => m.end)", timeout=HANG_MS)
        got = page.evaluate("window.got")
        browser.close()
    return got


def test_the_stream_reader_frames_every_event_whatever_the_reads_and_reconnects_from_the_last(site):
    got = _read(site)
    assert all(m["token"] == 7 for m in got)
    assert got[0] == {"token": 7, "conn": "live"}
    events = [e for m in got if "events" in m for e in m["events"]]
    assert events == EXPECTED
    # the server closed the stream: the reader asked again from the last event and was told it is over
    assert Handler.asked == ["-1", "4"]
    assert {"token": 7, "conn": "reconnecting"} in got and got[-1] == {"token": 7, "end": 204}


def test_the_stream_reader_reports_events_no_longer_kept(site):
    Handler.finished_answer = 410
    try:
        got = _read(site)
    finally:
        Handler.finished_answer = 204
    assert got[-1] == {"token": 7, "end": 410, "error": "events before seq 9 are gone"}


SNAPSHOT = {"step": 2, "active_banks": 2, "defaults": 1, "banks": [
    {"id": "bank_0", "cash": 1.5, "leverage": None, "defaulted": True, "investments": {"A": 1.0, "B": -0.0}, "priority": "PROFIT"},
    {"id": "bank_1", "cash": -2.0, "leverage": 3.25, "defaulted": False, "investments": {"A": 0.5, "B": 2.0}, "priority": "LIQUIDITY"}],
    "markets": [{"name": "A", "price": 1.0}], "totals": {"cash": -0.5}}


def _snapshot_events(site, data):
    event = {"seq": 0, "step": 2, "type": "step_end", "data": data}
    Handler.pieces = [b"id: 0\r\nevent: step_end\r\ndata: " + json.dumps(event).encode() + b"\r\n\r\n"]
    try:
        return [e for m in _read(site) if "events" in m for e in m["events"]]
    finally:
        Handler.pieces = PIECES


def test_the_stream_reader_sends_a_snapshot_as_columns_in_its_key_order(site):
    [(seq, kind, got)] = _snapshot_events(site, SNAPSHOT)
    assert (seq, kind, got["compact"], got["n"]) == (0, "step_end", True, 2)
    assert got["head"] == {k: v for k, v in SNAPSHOT.items() if k != "banks"}
    assert [k[:2] for k in got["keys"]] == [["id", "str"], ["cash", "num"], ["leverage", "num"], ["defaulted", "bool"],
                                            ["investments", "obj"], ["priority", "str"]]
    cols = dict(zip([k[0] for k in got["keys"]], got["cols"]))
    assert list(cols["cash"]) == [1.5, -2.0]
    assert cols["leverage"][1] == 3.25 and math.isnan(cols["leverage"][0])  # NaN: null in the stream
    assert list(cols["investments"]) == [1.0, 0.0, 0.5, 2.0]  # bank by bank, market by market
    assert list(cols["defaulted"]) == [1, 0]
    assert [got["keys"][0][2][int(c)] for c in cols["id"]] == ["bank_0", "bank_1"]
    assert [got["keys"][-1][2][int(c)] for c in cols["priority"]] == ["PROFIT", "LIQUIDITY"]


def test_a_snapshot_whose_banks_differ_in_shape_is_sent_as_its_text(site):
    odd = {**SNAPSHOT, "banks": [SNAPSHOT["banks"][0], {**SNAPSHOT["banks"][1], "extra": 1}]}
    [(_, _, got)] = _snapshot_events(site, odd)
    assert isinstance(got, str) and json.loads(got)["data"] == odd


def _tx(seq, step, bank, **data):
    d = {"bank": bank, "action": "LEND", "counterparty": None, "market": None, "amount": 1.0, "priority": "PROFIT", **data}
    return {"seq": seq, "step": step, "type": "transaction", "data": d}


def test_a_step_s_small_events_go_as_columns_and_an_odd_one_as_its_text_in_stream_order(site):
    events = [
        _tx(0, 2, "bank_0", counterparty="bank_13", amount=2.5),
        _tx(1, 2, "bank_7", action="INVEST", market="A", priority="LIQUIDITY"),
        {"seq": 2, "step": 2, "type": "profit_booking", "data": {"bank": "bank_1", "market": "A", "invested": 3.0, "return": 0.25, "profit": -0.75}},
        {"seq": 3, "step": 2, "type": "central_bank", "data": {"operation": "lending_facility", "bank": "bank_2", "amount": 4.0, "rate": 0.03, "value": None}},
        _tx(4, 2, "alice"),  # not a bank's name: as it came, and the run ends
        _tx(5, 3, "bank_4", amount=0.0),
        _tx(6, 4, "bank_4"),  # another step: another run
    ]
    Handler.pieces = [b"".join(b"id: %d\r\nevent: %s\r\ndata: %s\r\n\r\n" % (e["seq"], e["type"].encode(), json.dumps(e).encode()) for e in events)]
    try:
        got = [e for m in _read(site) if "events" in m for e in m["events"]]
    finally:
        Handler.pieces = PIECES
    assert [(seq, kind) for seq, kind, _ in got] == [(3, "digest"), (4, "transaction"), (5, "digest"), (6, "digest")]
    first = got[0][2]
    assert (first["seq0"], first["n"], first["step"]) == (0, 4, 2)
    codes = lambda col: [None if c < 0 else first["strings"][int(c)] for c in first[col]]  # noqa: E731
    assert list(first["kind"]) == [0, 0, 1, 2]
    assert list(first["bank"]) == [0, 7, 1, 2] and list(first["other"]) == [13, -1, -1, -1]
    assert codes("action") == ["LEND", "INVEST", None, None] and codes("market") == [None, "A", "A", None]
    assert codes("priority") == ["PROFIT", "LIQUIDITY", None, None]
    assert list(first["amount"]) == [2.5, 1.0, -0.75, 4.0] and list(first["rate"]) == [0.0, 0.0, 0.25, 0.03]
    assert json.loads(got[1][2]) == events[4]
    assert (got[2][2]["seq0"], got[2][2]["step"], list(got[2][2]["amount"])) == (5, 3, [0.0])

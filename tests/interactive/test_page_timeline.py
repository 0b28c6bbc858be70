"""The timeline in headless Chromium: a past step shown as it was (totals and bank panel equal to
the stream's step_end of that step), back to live, and "Branch from here" forking a session at the
step shown. Waits on conditions only."""

import json
import time

import httpx
import pytest

from interbank.interactive.verify import verify_events
from tests.deadlines import HANG_S
from tests.interactive.test_page_console import _open, _start, browser, console, page  # noqa: F401 (fixtures)

pytest.importorskip("playwright")
from playwright.sync_api import expect


def _events(base, sid):
    return [json.loads(line) for line in httpx.get(f"{base}/api/interactive/stream/{sid}.jsonl", timeout=HANG_S).text.splitlines()]


def _wait_state(base, sid, states):
    end = time.time() + HANG_S
    while (st := httpx.get(base + "/api/interactive/status", params={"session_id": sid}, timeout=HANG_S).json())["state"] not in states:
        assert time.time() < end, st
        time.sleep(0.05)
    return st


def _show(page, step):
    page.locator("#timeline-step").fill(str(step))
    page.wait_for_function(f"window.__ib.timeline && window.__ib.timeline.loaded === {step} && !window.__ib.timeline.busy")


def test_scrubbing_back_shows_the_step_as_the_stream_had_it_and_back_to_live_shows_now(console, page):
    _open(page, console)
    sid = _start(page, banks=None, steps=None, speed="0", scenario="cascade")
    _wait_state(console, sid, ("complete",))
    page.wait_for_function("window.__ib.finished && window.__ib.queue.length === 0")
    ends = {e["step"]: e["data"] for e in _events(console, sid) if e["type"] == "step_end"}
    last = max(ends)
    for step in (2, 5, 1):  # before the shock, after the cascade, and back again
        _show(page, step)
        d = ends[step]
        expect(page.locator("#step")).to_have_text(str(step))
        assert page.inner_text("#active") == str(d["active_banks"])
        assert page.inner_text("#defaults") == str(d["defaults"])
        assert page.inner_text("#capital") == page.evaluate("(x) => window.__page.money(x)", d["total_capital"])
        bank = next(b for b in d["banks"] if b["id"] == page.evaluate("window.__ib.selected"))
        assert page.inner_text("#bank-equity") == page.evaluate("(x) => window.__page.money(x)", bank["equity"])
        assert "the stream waits" in page.inner_text("#timeline-label")
        # the markets and the count below the minimum as they were then, and a download named for the step shown
        prices = [page.evaluate("(x) => window.__page.fmt(x)", m["price"]) for m in d["markets"]]
        assert [r.split(" (")[0] for r in page.locator("#markets > div > span:nth-child(2)").all_inner_texts()] == prices
        below = sum(1 for b in d["banks"] if not (b["defaulted"] or b["deleted"]) and b["capital_ratio"] is not None
                    and b["capital_ratio"] < d["totals"]["min_capital_ratio"])
        assert page.inner_text("#sys-below").split(" / ")[0] == str(below)
        assert page.inner_text("#sys-unmet-total") == "–"  # (a running figure of the session: not known then)
        assert page.evaluate("window.__page.fileName('banks', 'csv')").endswith(f"-banks-step{step}.csv")
        expect(page.locator("#timeline-branch")).to_be_enabled()
    page.click("#timeline-live")
    expect(page.locator("#step")).to_have_text(str(last))
    assert page.evaluate("window.__ib.timeline") is None
    live = [page.evaluate("(x) => window.__page.fmt(x)", m["price"]) for m in ends[last]["markets"]]
    assert [r.split(" (")[0] for r in page.locator("#markets > div > span:nth-child(2)").all_inner_texts()] == live
    assert page.evaluate("window.__page.fileName('banks', 'csv')").endswith(f"-banks-step{last}.csv")
    expect(page.locator("#timeline-branch")).to_be_disabled()  # complete: its last step has no step after it
    assert page.errors == []


def test_branch_from_here_forks_a_session_whose_first_step_follows_the_step_shown(console, page):
    _open(page, console)
    sid = _start(page, banks="12", steps="30", speed="0")
    _wait_state(console, sid, ("complete",))
    page.wait_for_function("window.__ib.finished && window.__ib.queue.length === 0")
    _show(page, 7)
    page.click("#timeline-branch")
    page.wait_for_function("window.__ib.compare && window.__ib.compare.other")
    expect(page.locator("#timeline-branch")).to_be_enabled()  # another branch may follow without moving the slider
    child = page.evaluate("window.__ib.compare.other")
    st = _wait_state(console, child, ("paused",))
    assert (st["step"], st["parent"], st["fork_step"]) == (7, sid, 7)
    httpx.post(console + "/api/interactive/control", json={"session_id": child, "command": "resume"}, timeout=HANG_S)
    _wait_state(console, child, ("complete",))
    parent, events = _events(console, sid), _events(console, child)
    fork = events[0]["data"]["config"]["branch"]
    assert fork["parent"] == sid and fork["step"] == 7
    # the parent's stream up to step 7, then the branch's own: its first step is step 8
    shared = [e for e in parent[1:] if e["step"] <= 7]
    assert events[1:len(shared) + 1] == shared
    assert next(e for e in events[len(shared) + 1:] if e["type"] == "step_start")["step"] == 8
    assert verify_events(events)[0]
    assert page.errors == []


def test_branch_at_a_step_the_session_has_not_reached_is_refused_and_changes_nothing(console):
    sid = httpx.post(console + "/api/interactive/start", json={"n_banks": 8, "steps": 5, "speed": 0}, timeout=HANG_S).json()["session_id"]
    _wait_state(console, sid, ("complete",))
    before = len(httpx.get(console + "/api/interactive/sessions", timeout=HANG_S).json()["sessions"])
    r = httpx.post(console + "/api/interactive/control", json={"session_id": sid, "command": "branch", "step": 6}, timeout=HANG_S)
    assert r.status_code == 422 and "between 0 and 5" in r.json()["error"]
    r = httpx.post(console + "/api/interactive/control", json={"session_id": sid, "command": "pause", "step": 2}, timeout=HANG_S)
    assert r.status_code == 422 and "pause takes no step (step is for branch)" in r.json()["error"]
    assert len(httpx.get(console + "/api/interactive/sessions", timeout=HANG_S).json()["sessions"]) == before
    assert httpx.get(f"{console}/api/interactive/step_end/{sid}", params={"step": 6}, timeout=HANG_S).status_code == 404

"""The console's Start, units, keyboard and Setup form in headless Chromium. Waits on conditions only."""

import json

import httpx
import pytest

from tests.deadlines import HANG_S
from tests.interactive.test_page_console import _open, _pause, _start, browser, console, page  # noqa: F401 (fixtures)

pytest.importorskip("playwright")
from playwright.sync_api import expect  # noqa: E402


def _status(base, sid):
    return httpx.get(base + "/api/interactive/status", params={"session_id": sid}, timeout=HANG_S).json()


def _in_view(page, selector):
    box = page.locator(selector).bounding_box()
    return box is not None and 0 <= box["y"] and box["y"] + box["height"] <= 900


def test_a_refused_start_keeps_the_running_session_and_says_why_next_to_the_button(console, page):
    _open(page, console)
    # the menu is the server's vocabulary: every baseline, each startable
    offered = page.eval_on_selector_all("#policy option", "os => os.map(o => o.value)")
    served = [p["name"] for p in httpx.get(console + "/api/vocabulary", timeout=HANG_S).json()["policies"]]
    assert [o for o in offered if o.startswith("policy:")] == ["policy:" + n for n in served]
    sid = _start(page, banks="10", steps="2000", speed="10")
    page.wait_for_function("+document.getElementById('step').textContent >= 2")
    # a start the server refuses, answered "Stop ... and start": the running session keeps running
    page.fill("#speed", "5000")
    page.click("#start")
    page.click("#confirm-yes")
    expect(page.locator("#start-error")).to_contain_text("speed = 5000")
    expect(page.locator("#toast")).to_contain_text("speed = 5000")
    assert _in_view(page, "#start-error") and _in_view(page, "#toast")
    assert page.evaluate("window.__ib.session") == sid and _status(console, sid)["state"] == "running"
    step = int(page.inner_text("#step"))
    page.wait_for_function(f"+document.getElementById('step').textContent > {step}")  # still stepping, still shown
    # the server unreachable: said so, not "Failed to fetch"
    page.route("**/api/interactive/start", lambda route: route.abort())
    page.fill("#speed", "10")
    page.click("#start")
    page.click("#confirm-alt")
    expect(page.locator("#start-error")).to_contain_text("server unreachable")
    assert "Failed to fetch" not in page.inner_text("#start-error")
    page.unroute("**/api/interactive/start")
    # a rule with a parameter, replacing the session: the new one runs, then the old one is stopped
    page.select_option("#policy", "policy:lend_surplus")
    page.fill("#policy-params input[data-param=c]", "3")
    page.click("#start")
    page.click("#confirm-yes")
    page.wait_for_function(f"window.__ib.session && window.__ib.session !== {json.dumps(sid)} && window.__ib.init")
    new = page.evaluate("window.__ib.session")
    assert _status(console, sid)["state"] == "stopped"
    assert _status(console, new)["settings"]["params"] == {"c": 3.0}
    expect(page.locator("#start-error")).to_have_text("")
    page.click("#stop")
    assert page.errors == []


def test_figures_say_their_units_and_the_policy_rate_is_typed_in_percent(console, page):
    _open(page, console)
    page.fill("#n-banks", "10")
    page.fill("#steps", "2000")
    page.fill("#speed", "10")
    page.click("#start")
    page.wait_for_function("+document.getElementById('step').textContent >= 1")
    # the stream says it runs: the pill does not wait for the next status poll
    assert page.inner_text("#state") == "running"
    assert page.inner_text("#capital").startswith("$") and page.inner_text("#bank-equity").startswith("$")
    _pause(page)
    rate = page.inner_text("#cb-rate-now")
    page.fill("#cb-rate", "250")
    page.click("#cb-set-rate")
    expect(page.locator("#message")).to_contain_text("policy rate must be between 0% and 100% a year; got 250%")
    assert page.inner_text("#cb-rate-now") == rate  # nothing changed
    page.fill("#cb-rate", "2.5")
    page.click("#cb-set-rate")
    expect(page.locator("#cb-rate-now")).to_have_text("2.50%")
    assert "policy rate 2.50% a year" in page.inner_text("#feed")
    # words and axes: plurals, no negative zero; a trade of nothing is not in the feed
    shown = page.evaluate("""() => {
        const { onEvent, plural, fmtShort, money } = window.__page;
        onEvent({seq: 1e9, step: 99, type: 'transaction', data: {bank: 'bank_1', action: 'LEND', counterparty: 'bank_2',
                 market: null, amount: 0, priority: 'PROFIT'}}, performance.now());
        return [plural(1, 'bank'), plural(3, 'bank'), fmtShort(-1e-9), fmtShort(1e-9), money(-0.001), money(-5), money(1234.5),
                window.__ib.recent.filter(r => r.step === 99).length];
    }""")
    assert shown == ["1 bank", "3 banks", "0", "0", "$0.00", "−$5.00", "$1,235", 0]
    page.click("#stop")
    assert page.errors == []


def test_keyboard_space_pauses_enter_submits_escape_closes_and_question_mark_lists_the_keys(console, page):
    _open(page, console)
    _start(page, banks="10", steps="2000", speed="10")
    page.wait_for_function("+document.getElementById('step').textContent >= 1")
    page.locator("#network").focus()
    page.keyboard.press("Space")
    expect(page.locator("#state")).to_have_text("paused")
    # typing a space in a field is typing, not a shortcut
    page.fill("#feed-bank", "")
    page.locator("#feed-bank").press_sequentially("bank 1")
    expect(page.locator("#feed-bank")).to_have_value("bank 1")
    assert page.evaluate("window.__ib.state") == "paused"
    page.fill("#feed-bank", "")
    page.locator("#start").focus()  # Space on a focused button is the shortcut, not a click on it
    page.keyboard.press("Space")
    expect(page.locator("#state")).to_have_text("running")
    assert page.locator("#confirm").is_hidden()
    page.keyboard.press("Space")
    expect(page.locator("#state")).to_have_text("paused")
    page.wait_for_function("window.__ib.queue.length === 0")
    # Enter in an amount field submits it
    page.select_option("#bank-select", "bank_2")
    page.fill("#amount", "1000")
    page.press("#amount", "Enter")
    expect(page.locator("#feed")).to_contain_text("bank_2 +$1,000 capital")
    page.fill("#cb-rate", "3")
    page.press("#cb-rate", "Enter")
    expect(page.locator("#cb-rate-now")).to_have_text("3.00%")
    # Escape closes the confirm dialog and changes nothing
    page.click("#delete-bank")
    expect(page.locator("#confirm")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.locator("#confirm")).to_be_hidden()
    assert page.inner_text("#bank-state") == "active"
    # "?" lists the shortcuts; Escape closes the list
    page.locator("#network").focus()
    page.keyboard.press("?")
    expect(page.locator("#help")).to_be_visible()
    for key in ("Space", "Enter", "Esc", "?"):
        expect(page.locator("#help-keys")).to_contain_text(key)
    page.keyboard.press("Escape")
    expect(page.locator("#help")).to_be_hidden()
    page.click("#stop")
    assert page.errors == []


def test_after_a_reload_the_setup_form_shows_the_session_and_polling_ends_when_it_is_gone(console, page):
    _open(page, console)
    page.select_option("#policy", "policy:lend_surplus")
    page.fill("#policy-params input[data-param=c]", "3")
    page.select_option("#scenario", "stress")  # (a new scenario clears the size, length and seed typed before it)
    page.fill("#seed", "3")
    sid = _start(page, banks="30", steps="400", speed="10")
    page.reload()
    expect(page.locator("#session-id")).to_have_text(sid)
    expect(page.locator("#n-banks")).to_have_value("30")
    expect(page.locator("#steps")).to_have_value("400")
    expect(page.locator("#seed")).to_have_value("3")
    expect(page.locator("#speed")).to_have_value("10")
    assert page.input_value("#scenario") == "stress" and page.input_value("#policy") == "policy:lend_surplus"
    expect(page.locator("#policy-params input[data-param=c]")).to_have_value("3")
    # the session is gone (as after a server restart): the page says so once and stops asking
    asked = {"status": 0, "sessions": 0}

    def count(request):
        for key in asked:
            if f"/api/interactive/{key}" in request.url:
                asked[key] += 1

    page.on("request", count)
    page.route("**/api/interactive/status*", lambda route: route.fulfill(
        status=404, content_type="application/json", body=json.dumps({"error": f"unknown session {sid!r}"})))
    expect(page.locator("#conn")).to_have_text("session gone")
    polled, listed = asked["status"], asked["sessions"]
    with page.expect_request("**/api/interactive/sessions"):
        pass
    with page.expect_request("**/api/interactive/sessions"):
        pass
    assert asked["sessions"] >= listed + 2 and asked["status"] == polled, asked  # two polls later: not asked again
    page.unroute("**/api/interactive/status*")
    httpx.post(console + "/api/interactive/control", json={"session_id": sid, "command": "stop"}, timeout=HANG_S)
    assert page.errors == []


def test_an_empty_seed_plays_the_scenarios_own_and_the_form_says_which(console, page):
    _open(page, console)
    page.select_option("#scenario", "stress")  # configs/stress.yaml: seed 7
    expect(page.locator("#seed")).to_have_attribute("placeholder", "7")
    expect(page.locator("#seed")).to_have_value("")
    sid = _start(page, banks="30", steps="5", speed="0", scenario="stress")
    sessions = httpx.get(console + "/api/interactive/sessions", timeout=HANG_S).json()["sessions"]
    assert next(s for s in sessions if s["session_id"] == sid)["settings"]["seed"] == 7
    expect(page.locator("#seed")).to_have_value("7")  # the form shows what the session was started with
    assert page.errors == []

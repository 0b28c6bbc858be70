"""The analyst's console in headless Chromium: one test per defect of issue 12 (each failed on the
page before it), branches side by side, and 1,000 banks at 5 steps/s. Waits on conditions only."""

import json
from urllib.parse import parse_qs, urlparse

import httpx
import pytest

from tests.interactive.conftest import scenarios_folder_with, serving
from tests.interactive.sse_client import read_data
from tests.interactive.test_page import CHROMIUM, FLAGS

pytest.importorskip("playwright")
from playwright.sync_api import expect, sync_playwright

from tests.deadlines import HANG_MS, HANG_S

expect.set_options(timeout=HANG_MS)  # expect waits for a condition: its end only guards against a hang

CASCADE = """\
# page tests: two hubs lose 6x their capital at step 3 and take others with them (seed 2)
env:
  n_banks: 30
  max_steps: 40
  network: {type: core_periphery, core_fraction: 0.2, avg_degree: 6.0}
  balance_sheet: {interbank_share: 0.5}
  shocks:
    scheduled:
      - {step: 3, type: capital_loss, bank: 0, size: 6.0}
      - {step: 3, type: capital_loss, bank: 1, size: 6.0}
"""


@pytest.fixture(scope="module")
def console(tmp_path_factory):
    configs = scenarios_folder_with(tmp_path_factory.mktemp("configs"), {"cascade": CASCADE})
    with serving("--configs", str(configs), "--max-sessions", "50") as (base, _):
        yield base


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        yield b
        b.close()


@pytest.fixture()
def page(browser):
    ctx = browser.new_context(viewport={"width": 1400, "height": 900})
    pg = ctx.new_page()
    pg.errors = []
    pg.on("pageerror", lambda e: pg.errors.append(str(e)))
    yield pg
    ctx.close()


def _open(page, base, session=None):
    page.goto(base + "/" + (f"?session={session}" if session else ""))
    page.wait_for_function("document.getElementById('policy').options.length > 0")


def _start(page, banks="30", steps="400", speed="10", scenario=None):
    if scenario is not None:
        page.select_option("#scenario", scenario)
    if banks is not None:
        page.fill("#n-banks", banks)
    if steps is not None:
        page.fill("#steps", steps)
    page.fill("#speed", speed)
    page.click("#start")
    page.wait_for_function("window.__ib.session && window.__ib.init")
    return page.evaluate("window.__ib.session")


def _pause(page):
    page.click("#pause")
    expect(page.locator("#state")).to_have_text("paused")
    page.wait_for_function("window.__ib.queue.length === 0 && document.getElementById('feed').textContent.includes('paused')")


def _num(page, selector):
    return float(page.inner_text(selector).replace(",", "").replace("$", ""))


def _click_bank(page, bank):
    """Click a bank's node where the page draws it."""
    x, y = page.evaluate("""(id) => {
        const S = window.__ib, c = document.getElementById('network'), r = c.getBoundingClientRect();
        const p = S.nodes[S.index.get(id)], v = S.view, s = 0.47 * Math.min(c.width, c.height) * v.zoom;
        const k = r.width / c.width;
        return [r.left + (c.width / 2 + v.x + p.x * s) * k, r.top + (c.height / 2 + v.y + p.y * s) * k];
    }""", bank)
    page.mouse.click(x, y)


def test_delete_removes_the_bank_shown_and_every_figure_follows_at_once(console, page):
    _open(page, console)
    _start(page)
    page.wait_for_function("+document.getElementById('step').textContent >= 2")
    _pause(page)
    page.select_option("#bank-select", "bank_0")
    active, capital = _num(page, "#active"), _num(page, "#capital")
    page.fill("#amount", "1000")
    page.click("#add-capital")
    # the header total moves with the control event, not at the next step (paused: there is none)
    page.wait_for_function(f"parseFloat(document.getElementById('capital').textContent.replace(/[$,]/g, '')) > {capital + 999}")
    equity = _num(page, "#bank-equity")
    page.click("#delete-bank")
    expect(page.locator("#confirm-text")).to_contain_text("bank_0")
    expect(page.locator("#confirm-yes")).to_have_text("Delete bank_0")
    page.click("#confirm-yes")
    expect(page.locator("#bank-state")).to_have_text("deleted")
    # the bank shown is the one deleted; the select did not move on to bank_1
    assert page.input_value("#bank-select") == "bank_0" and page.text_content("#bank-name") == "bank_0"
    expect(page.locator("#active")).to_have_text(str(int(active) - 1))
    assert _num(page, "#capital") == pytest.approx(capital + 1000 - equity, abs=1)
    # nothing can act on it any more: a second Delete cannot reach bank_1
    for button in ("#delete-bank", "#add-capital", "#cb-inject"):
        expect(page.locator(button)).to_be_disabled()
    assert "deleted" in page.inner_text("#bank-note").lower()
    feed = page.inner_text("#feed")
    assert "bank_1 deleted" not in feed and "bank_0 deleted" in feed
    page.click("#stop")
    assert page.errors == []


def test_a_defaulted_bank_clicked_is_shown_selected_and_can_be_deleted_as_failed(console, page):
    _open(page, console)
    _start(page, banks=None, steps=None, scenario="cascade")
    # the cascade is in its own log and stays there while the feed moves on
    expect(page.locator("#log")).to_contain_text("cascade from bank_0, bank_1", timeout=HANG_MS)
    page.wait_for_function("+document.getElementById('step').textContent >= 20", timeout=HANG_MS)
    expect(page.locator("#log li.cascade")).to_have_count(1)
    expect(page.locator("#log li.cascade button.replay")).to_be_visible()
    page.click("#log li.cascade button.replay")
    page.wait_for_function("window.__ib.cascadeAnim !== null && window.__ib.cascadeAnim.victims.length >= 1")
    _pause(page)
    _click_bank(page, "bank_0")
    expect(page.locator("#bank-name")).to_have_text("bank_0")
    assert page.input_value("#bank-select") == "bank_0"  # never blank
    expect(page.locator("#bank-state")).to_have_text("defaulted")
    expect(page.locator("#add-capital")).to_be_disabled()
    expect(page.locator("#delete-bank")).to_have_text("Delete failed bank_0")
    page.click("#delete-bank")
    expect(page.locator("#confirm-text")).to_contain_text("Delete failed bank_0 from the network")
    page.click("#confirm-yes")
    expect(page.locator("#bank-state")).to_have_text("deleted")
    assert "needs bank" not in page.inner_text("#message")
    page.click("#stop")
    assert page.errors == []


def _shown_once(page):
    """Every step summary and every log line appears once (nothing re-applied after a reload)."""
    summaries = page.eval_on_selector_all("#feed li.summary", "els => els.map(e => e.textContent.split(' ')[0])")
    logged = page.eval_on_selector_all("#log li", "els => els.map(e => e.firstChild.textContent)")
    assert len(summaries) == len(set(summaries)) and len(logged) == len(set(logged)), (summaries, logged)
    steps = page.evaluate("window.__ib.stepTotals.map(s => s.step)")
    assert steps == list(range(1, len(steps) + 1))


def test_reload_resumes_where_it_was_without_replaying_and_stop_works(console, page):
    _open(page, console)
    sid = _start(page, banks=None, steps=None, speed="5", scenario="cascade")
    expect(page.locator("#log li.cascade")).to_have_count(1)
    page.wait_for_function("+document.getElementById('step').textContent >= 6")
    step = int(page.inner_text("#step"))
    streams = []  # what the reloaded page asks the server for (its stream reader may be a worker)
    page.context.on("request", lambda r: streams.append(r.url) if f"/stream/{sid}" in r.url else None)
    page.reload()
    expect(page.locator("#session-id")).to_have_text(sid)
    page.wait_for_function(f"+document.getElementById('step').textContent > {step}")
    # it read on from the last step it showed (Last-Event-ID), not from the session's first event
    asked = [parse_qs(urlparse(u).query).get("last_event_id", ["-1"])[0] for u in streams]
    assert asked and all(int(x) > 1 for x in asked), streams
    expect(page.locator("#conn")).to_have_text("live")
    expect(page.locator("#log li.cascade")).to_have_count(1)
    expect(page.locator("#log li.cascade button.replay")).to_be_visible()
    _shown_once(page)
    # paused, with an intervention after the last step: a reload shows it once, figures included
    _pause(page)
    bank = page.evaluate("[...window.__ib.banks.values()].filter(b => !b.defaulted && !b.deleted).at(-1).id")
    page.select_option("#bank-select", bank)
    capital = _num(page, "#capital")
    page.fill("#amount", "1000")
    page.click("#add-capital")
    page.wait_for_function(f"parseFloat(document.getElementById('capital').textContent.replace(/[$,]/g, '')) > {capital + 999}")
    equity, shown_step = _num(page, "#bank-equity"), page.inner_text("#step")
    page.reload()
    expect(page.locator("#state")).to_have_text("paused")
    page.wait_for_function("window.__ib.firstSeq !== null && window.__ib.queue.length === 0 && window.__ib.lastSeq >= window.__ib.resumeAt")
    assert page.inner_text("#step") == shown_step
    assert _num(page, "#capital") == pytest.approx(capital + 1000, abs=1)
    expect(page.locator("#bank-name")).to_have_text(bank)
    assert _num(page, "#bank-equity") == pytest.approx(equity, abs=0.01)
    assert page.inner_text("#feed").count(f"{bank} +$1,000 capital") == 1
    _shown_once(page)
    page.click("#resume")
    page.wait_for_function(f"+document.getElementById('step').textContent > {shown_step}")
    page.click("#stop")
    expect(page.locator("#state")).to_have_text("stopped")
    assert httpx.get(console + "/api/interactive/status", params={"session_id": sid}).json()["state"] == "stopped"
    # what the page shows is the stream's: every step's totals, the last one in the header
    page.wait_for_function("window.__ib.queue.length === 0")
    stream = [json.loads(x) for x in read_data(console + f"/api/interactive/stream/{sid}")]
    ends = [e["data"] for e in stream if e["type"] == "step_end"]
    shown = page.evaluate("window.__ib.stepTotals")
    assert shown == [{"step": d["step"], "active": d["active_banks"], "defaults": d["defaults"], "capital": d["total_capital"]} for d in ends]
    assert page.inner_text("#step") == str(ends[-1]["step"])
    _shown_once(page)
    assert page.errors == []


def test_second_start_asks_and_sessions_can_be_attached_and_stopped(console, page):
    _open(page, console)
    first = _start(page, speed="5")
    page.click("#start")
    expect(page.locator("#confirm-text")).to_contain_text(first)
    page.click("#confirm-alt")  # keep it running
    page.wait_for_function(f"window.__ib.session && window.__ib.session !== '{first}'")
    second = page.evaluate("window.__ib.session")
    # both are listed; the first can be stopped from the list
    row = page.locator(f"#sessions tr[data-session='{first}']")
    expect(row).to_contain_text("running")
    row.locator("button.stop-session").click()
    expect(row).to_contain_text("stopped", timeout=HANG_MS)
    # a third Start asks about the second; "stop it" stops it
    page.click("#start")
    expect(page.locator("#confirm-text")).to_contain_text(second)
    page.click("#confirm-yes")
    page.wait_for_function(f"window.__ib.session && window.__ib.session !== '{second}'")
    assert httpx.get(console + "/api/interactive/status", params={"session_id": second}).json()["state"] == "stopped"
    third = page.evaluate("window.__ib.session")
    # attach to the first (finished) session: its whole run is shown
    page.locator(f"#sessions tr[data-session='{first}'] button.attach").click()
    expect(page.locator("#session-id")).to_have_text(first)
    expect(page.locator("#state")).to_have_text("stopped")
    httpx.post(console + "/api/interactive/control", json={"session_id": third, "command": "stop"})
    assert page.errors == []


def test_the_page_says_when_the_server_is_gone(page):
    with serving() as (base, proc):
        _open(page, base)
        _start(page, speed="5")
        page.wait_for_function("+document.getElementById('step').textContent >= 1")
        expect(page.locator("#conn")).to_have_text("live")
        proc.terminate()
        proc.wait(timeout=HANG_S)
        expect(page.locator("#conn")).to_have_text("server gone", timeout=HANG_MS)
        expect(page.locator("#state")).to_have_text("unknown")
        expect(page.locator("#pause")).to_be_disabled()


@pytest.mark.parametrize("scenario", ["smoke", "playground", ""])
def test_scenarios_run_at_their_own_size(console, page, scenario):
    sizes = httpx.get(console + "/api/scenarios").json()
    want = sizes["sizes"][scenario] if scenario else sizes["default"]
    _open(page, console)
    sid = _start(page, banks=None, steps=None, scenario=scenario)
    st = httpx.get(console + "/api/interactive/status", params={"session_id": sid}).json()
    assert (st["n_banks"], st["max_steps"]) == (want["n_banks"], want["max_steps"])
    expect(page.locator("#max-steps")).to_have_text(f"/{want['max_steps']}")
    httpx.post(console + "/api/interactive/control", json={"session_id": sid, "command": "stop"})


def test_a_market_click_opens_its_dashboard_and_priorities_have_their_own_colours(console, page):
    _open(page, console)
    _start(page, speed="20")
    page.wait_for_function("+document.getElementById('step').textContent >= 6")
    page.locator("#markets .market").first.click()
    expect(page.locator("#market-dash")).to_be_visible()
    expect(page.locator("#market-name")).to_contain_text("BANK_INDEX")
    expect(page.locator("#market-holders tbody tr").first).to_be_visible()
    # the price chart is drawn (with its axes and legend) and grows with the steps
    page.wait_for_function("""() => { const c = document.getElementById('market-price'), d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let lit = 0; for (let i = 3; i < d.length; i += 4) if (d[i]) lit++; return lit > 500; }""")
    colours = page.evaluate("""() => ['profit', 'liquidity', 'stability'].map(k => getComputedStyle(document.querySelector('.dot.' + k)).backgroundColor)""")
    assert len(set(colours)) == 3
    # exposures are drawn directed and weighted, and the feed samples fairly with profit bookings among them
    expect(page.locator("#lod")).to_contain_text("exposures at step")
    page.wait_for_function("window.__ib.recent.some(r => r.kind === 'profit')", timeout=HANG_MS)
    page.fill("#feed-bank", "bank_3")
    page.wait_for_function("[...document.querySelectorAll('#feed li')].every(li => li.textContent.includes('bank_3') || li.className === 'hint')")
    page.select_option("#feed-type", "profit")
    page.fill("#feed-bank", "")
    page.wait_for_function("[...document.querySelectorAll('#feed li')].every(li => li.className === 'profit')")
    httpx.post(console + "/api/interactive/control", json={"session_id": page.evaluate("window.__ib.session"), "command": "stop"})
    assert page.errors == []


def test_branches_side_by_side_until_both_complete(console, page):
    _open(page, console)
    main = _start(page, steps="30", speed="20")
    page.wait_for_function("+document.getElementById('step').textContent >= 4")
    _pause(page)
    page.click("#branch")
    expect(page.locator("#compare")).to_be_visible()
    other = page.evaluate("window.__ib.compare.other")
    assert other != main
    page.select_option("#bank-select", "bank_5")
    page.fill("#amount", "5000")
    page.click("#add-capital")
    page.wait_for_function("document.getElementById('feed').textContent.includes('bank_5 +$5,000 capital')")
    expect(page.locator("#resume")).to_have_text("Resume both")
    page.click("#resume")
    rows = page.locator("#compare-table tbody tr")
    expect(rows.nth(0)).to_contain_text("complete", timeout=HANG_MS)
    expect(rows.nth(1)).to_contain_text("complete", timeout=HANG_MS)
    mine, theirs = (page.evaluate(f"window.__ib.{x}") for x in ("stepTotals.at(-1).capital", "compare.totals.at(-1).capital"))
    assert mine > theirs + 4000  # the intervention is this view's only
    assert page.errors == []


def test_1000_banks_for_20_seconds_every_step_shown_matches_the_stream(console, page):
    _open(page, console)
    sid = _start(page, banks="1000", steps="100", speed="5")
    expect(page.locator("#state")).to_have_text("complete", timeout=HANG_MS)
    page.wait_for_function("window.__ib.queue.length === 0")
    shown = page.evaluate("window.__ib.stepTotals")
    stream = [json.loads(x) for x in read_data(console + f"/api/interactive/stream/{sid}")]
    ends = [e["data"] for e in stream if e["type"] == "step_end"]
    assert len(ends) == 100
    assert shown == [{"step": d["step"], "active": d["active_banks"], "defaults": d["defaults"], "capital": d["total_capital"]} for d in ends]
    assert page.inner_text("#step") == "100" and _num(page, "#capital") == pytest.approx(ends[-1]["total_capital"], abs=1)
    st = httpx.get(console + "/api/interactive/status", params={"session_id": sid}).json()
    assert st["dropped_viewers"] == 0
    assert page.errors == []

"""What the page sends is what was typed: a number field the browser cannot read ("1e", "1e400") is
refused in the page, never sent as 0 or left out; a new scenario clears the seed with the size; the
activity feed comes back when its filter is cleared. Headless Chromium; waits on conditions only."""

import httpx
import pytest

from tests.deadlines import HANG_S
from tests.interactive.test_page_console import _open, _pause, _start, browser, console, page  # noqa: F401 (fixtures)

pytest.importorskip("playwright")
from playwright.sync_api import expect  # noqa: E402


def _type(page, selector, text):
    """Type ``text`` into a field as a person would (a number field takes "1e" keystroke by keystroke)."""
    page.fill(selector, "")
    page.click(selector)
    page.keyboard.type(text)


@pytest.mark.parametrize("field, text, said", [
    ("#speed", "1e", "speed (steps per second, 0 = as fast as possible): type a number"),
    ("#speed", "", "speed (steps per second, 0 = as fast as possible): type a number"),
    ("#n-banks", "1e", "banks: type a number (or leave it empty)"),
    ("#seed", "1e400", "seed: type a number (or leave it empty)"),
])
def test_a_start_with_a_number_the_page_cannot_read_starts_nothing_and_says_which(console, page, field, text, said):
    _open(page, console)
    _type(page, field, text)
    page.click("#start")
    expect(page.locator("#start-error")).to_have_text(f"Start refused: {said}: nothing started")
    assert page.evaluate("window.__ib.session") is None and page.errors == []


def test_capital_typed_as_no_number_changes_nothing_and_the_feed_survives_its_filter(console, page):
    _open(page, console)
    _start(page, banks="8", steps="400", speed="20")
    page.wait_for_function("+document.getElementById('step').textContent >= 3")
    _pause(page)
    page.select_option("#bank-select", "bank_2")
    before = page.evaluate("window.__ib.banks.get('bank_2').equity")
    _type(page, "#amount", "1e")
    page.click("#add-capital")
    expect(page.locator("#message")).to_have_text("capital to add (dollars): type a number: nothing changed")
    assert page.evaluate("window.__ib.banks.get('bank_2').equity") == before
    for typed, shown in (("-5", "−$5.00"), ("0", "$0.00")):  # refused in the page, never sent (no 422 in the console)
        _type(page, "#amount", typed)
        page.click("#add-capital")
        expect(page.locator("#message")).to_have_text(f"capital to add must be more than $0; got {shown}: nothing changed")
    _type(page, "#cb-amount", "-3")
    page.click("#cb-inject")
    expect(page.locator("#message")).to_contain_text("got −$3: nothing changed")
    assert page.evaluate("window.__ib.banks.get('bank_2').equity") == before
    # the feed filtered, then the filter cleared: the feed as it was, not emptied
    lines = page.eval_on_selector_all("#feed li", "ls => ls.map(l => l.textContent)")
    assert len(lines) > 3
    page.fill("#feed-bank", "bank_2")
    page.wait_for_function("!document.getElementById('feed').textContent.includes('paused')")
    page.fill("#feed-bank", "")
    page.wait_for_function(f"document.querySelectorAll('#feed li').length === {len(lines)}")
    assert page.eval_on_selector_all("#feed li", "ls => ls.map(l => l.textContent)") == lines
    assert page.errors == []


def test_a_new_scenario_clears_the_seed_with_the_size(console, page):
    _open(page, console)
    names = page.eval_on_selector_all("#scenario option", "os => os.map(o => o.value).filter(v => v)")
    assert len(names) >= 2
    page.select_option("#scenario", names[0])
    for field, value in (("#seed", "5"), ("#n-banks", "12"), ("#steps", "40")):
        page.fill(field, value)
    page.select_option("#scenario", names[1])
    for field in ("#seed", "#n-banks", "#steps"):
        expect(page.locator(field)).to_have_value("")


def test_a_playground_bank_the_server_refuses_is_named_by_its_row_as_the_page_names_it(console, page):
    """The server says banks.1.risk (from 0); the table's rows, and the page's own messages, count from 1."""
    _open(page, console)
    page.click("#playground summary")
    for _ in range(2):
        page.click("#pg-add")
    rows = page.locator("#pg-table tbody tr")
    expect(rows).to_have_count(2)
    for k, (capital, leverage, risk) in enumerate([("100", "10", "0.5"), ("80", "8", "2")]):
        cells = rows.nth(k).locator("input")
        cells.nth(0).fill(capital), cells.nth(1).fill(leverage), cells.nth(2).fill(risk)
    page.click("#start")
    expect(page.locator("#start-error")).to_contain_text("Start refused: bank 2's risk = 2")
    assert page.evaluate("window.__ib.session") is None


def test_a_playground_session_reloaded_shows_its_banks_in_the_form_and_another_session_clears_them(console, page):
    """After a reload the form showed no banks and "20 banks" (Start would have run 20 generated ones)."""
    _open(page, console)
    page.click("#playground summary")
    for capital, leverage, risk in (("120", "9", "0.4"), ("60", "6", "0.7")):
        page.click("#pg-add")
        cells = page.locator("#pg-table tbody tr").last.locator("input")
        cells.nth(0).fill(capital), cells.nth(1).fill(leverage), cells.nth(2).fill(risk)
    sid = _start(page, banks=None, steps="50", speed="20")
    page.reload()
    page.wait_for_function(f"window.__ib.session === '{sid}' && document.querySelectorAll('#pg-table tbody tr').length === 2")
    rows = page.eval_on_selector_all("#pg-table tbody tr", "rs => rs.map(r => [...r.querySelectorAll('input')].map(i => +i.value))")
    assert rows == [[120, 9, 0.4], [60, 6, 0.7]] and page.input_value("#n-banks") == ""
    # a session of generated banks attached: its size, no rows left over to replace it
    other = httpx.post(console + "/api/interactive/start", json={"n_banks": 7, "steps": 50, "paused": True}, timeout=HANG_S).json()
    _open(page, console, other["session_id"])
    page.wait_for_function("document.getElementById('n-banks').value === '7'")
    assert page.eval_on_selector_all("#pg-table tbody tr", "rs => rs.length") == 0
    # a playground too large for the form: its size stands for its banks, and the page says so
    many = httpx.post(console + "/api/interactive/start", json={"banks": [{"capital": 50, "target_leverage": 8, "risk": 0.5}] * 501,
                                                                 "steps": 5, "paused": True}, timeout=HANG_S).json()
    _open(page, console, many["session_id"])
    page.wait_for_function("document.getElementById('n-banks').value === '501'")
    expect(page.locator("#message")).to_contain_text("501 banks, more than the form shows")
    assert page.eval_on_selector_all("#pg-table tbody tr", "rs => rs.length") == 0

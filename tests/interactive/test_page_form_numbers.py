"""What the page sends is what was typed: a number field the browser cannot read ("1e", "1e400") is
refused in the page, never sent as 0 or left out; a new scenario clears the seed with the size; the
activity feed comes back when its filter is cleared. Headless Chromium; waits on conditions only."""

import pytest

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

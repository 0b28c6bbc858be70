"""Branches side by side in headless Chromium: the comparison's table counts what was done while
paused as the header does, its defaults chart counts from 0, and a branch is named in words."""

import httpx
import pytest

from tests.deadlines import HANG_S
from tests.interactive.test_page_console import _num, _open, _pause, _start, browser, console, page  # noqa: F401 (fixtures)

pytest.importorskip("playwright")
from playwright.sync_api import expect


def _branched(page, console, banks: str) -> str:
    """A session started, run 2 steps, paused and branched, the branch shown beside it: its id."""
    _open(page, console)
    sid = _start(page, banks=banks, steps="400", speed="20")
    page.wait_for_function("+document.getElementById('step').textContent >= 2")
    _pause(page)
    page.click("#branch")
    page.wait_for_function("window.__ib.compare && window.__ib.compare.totals.length > 0")
    return sid


def test_the_comparison_counts_interventions_made_while_paused_and_its_defaults_axis_starts_at_zero(console, page):
    sid = _branched(page, console, banks="12")
    bank = page.evaluate("[...window.__ib.banks.values()].find(b => !b.defaulted && !b.deleted).id")
    page.select_option("#bank-select", bank)
    page.fill("#amount", "500")
    page.click("#add-capital")
    page.wait_for_function("document.getElementById('feed').textContent.includes('+$500.00 capital')")
    header = page.inner_text("#capital")
    row = page.locator(f"#compare-table tr[data-session='{sid}'] td")
    expect(row.nth(4)).to_have_text(header)
    # a past step on the timeline changes the header, not the session's row (it showed the last step without the capital)
    page.locator("#timeline-step").fill("1")
    page.wait_for_function("window.__ib.timeline && window.__ib.timeline.loaded === 1 && !window.__ib.timeline.busy")
    assert page.inner_text("#capital") != header
    page.evaluate("window.__ib.compare.dirty = true")
    expect(row.nth(4)).to_have_text(header)
    page.click("#timeline-live")
    expect(page.locator("#capital")).to_have_text(header)
    axis = page.evaluate("document.getElementById('compare-defaults').axis")
    defaults = page.evaluate("window.__ib.stepTotals.map(t => t.defaults)")
    assert axis["y0"] == 0 and axis["y1"] >= max(defaults + [1])
    child = page.evaluate("window.__ib.compare.other")
    expect(page.locator(f"#sessions tr[data-session='{child}']")).to_contain_text(f"branch of {sid} at step")
    assert "⑂" not in page.inner_text("#sessions")
    httpx.post(console + "/api/interactive/control", json={"session_id": sid, "command": "stop"}, timeout=HANG_S)
    httpx.post(console + "/api/interactive/control", json={"session_id": child, "command": "stop"}, timeout=HANG_S)
    assert page.errors == []


def test_a_branch_attached_shows_the_session_it_came_from_as_its_parent(console, page):
    sid = _branched(page, console, banks="10")
    child = page.evaluate("window.__ib.compare.other")
    expect(page.locator(f"#compare-table tr[data-session='{child}'] td").nth(0)).to_have_text("branch")
    page.locator(f"#sessions tr[data-session='{child}'] button.attach").click()
    page.wait_for_function(f"window.__ib.session === '{child}' && window.__ib.compare && window.__ib.compare.other === '{sid}'")
    # the other row is the session this one was forked from: its parent, not a "branch"
    expect(page.locator(f"#compare-table tr[data-session='{sid}'] td").nth(0)).to_have_text("parent")
    expect(page.locator(f"#compare-table tr[data-session='{child}'] td").nth(0)).to_have_text("this view")
    for s in (sid, child):
        httpx.post(console + "/api/interactive/control", json={"session_id": s, "command": "stop"}, timeout=HANG_S)
    assert page.errors == []

"""Attaching to a session from the sessions list: a session attached after it ran shows each bank's
equity over the steps it catches up on (the sparkline is not blank), and what the page said of the
session left behind is not left showing."""

import httpx
import pytest

from tests.deadlines import HANG_S
from tests.interactive.test_page_console import _open, _pause, _start, browser, console, page  # noqa: F401 (fixtures)

pytest.importorskip("playwright")
from playwright.sync_api import expect


def test_a_session_attached_after_it_ran_has_its_banks_equity_history(console, page, browser):
    _open(page, console)
    sid = _start(page, banks="12", steps="40", speed="0")
    expect(page.locator("#state")).to_have_text("complete")
    # a fresh page (nothing saved from the first) attaches to the finished session
    other = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
    errors = []
    other.on("pageerror", lambda e: errors.append(str(e)))
    _open(other, console)
    other.locator(f"#sessions tr[data-session='{sid}'] button.attach").click()
    expect(other.locator("#session-id")).to_have_text(sid)
    other.wait_for_function("+document.getElementById('step').textContent === 40 && window.__ib.queue.length === 0")
    bank = other.evaluate("[...window.__ib.banks.keys()][3]")
    history = other.evaluate(f"window.__ib.equityHistory.get('{bank}')")
    assert len(history) == 40, history  # every step's equity (0 once gone), the shown one last
    shown = other.evaluate(f"window.__ib.banks.get('{bank}')")
    assert history[-1] == (0 if shown["defaulted"] or shown["deleted"] else shown["equity"])
    # the same figures the step_end events carried, step for step
    for step in (1, 20):
        event = httpx.get(console + f"/api/interactive/step_end/{sid}", params={"step": step}, timeout=HANG_S).json()
        row = next(b for b in event["data"]["banks"] if b["id"] == bank)
        assert history[step - 1] == (0 if row["defaulted"] or row["deleted"] else row["equity"])
    assert errors == [] and page.errors == []
    other.context.close()


def test_a_message_about_the_session_left_behind_is_cleared_on_attach(console, page):
    _open(page, console)
    first = _start(page, banks="6", steps="20", speed="0")
    expect(page.locator("#state")).to_have_text("complete")
    second = _start(page, banks="6", steps="2000", speed="5")
    page.wait_for_function("+document.getElementById('step').textContent >= 1")
    _pause(page)
    page.select_option("#bank-select", "bank_2")
    page.fill("#amount", "")
    page.click("#add-capital")  # no amount: refused in the page, and said so
    expect(page.locator("#message")).to_contain_text("nothing changed")
    page.locator(f"#sessions tr[data-session='{first}'] button.attach").click()
    expect(page.locator("#session-id")).to_have_text(first)
    expect(page.locator("#message")).to_have_text("")
    httpx.post(console + "/api/interactive/control", json={"session_id": second, "command": "stop"}, timeout=HANG_S)
    assert page.errors == []

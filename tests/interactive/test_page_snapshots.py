"""The balance sheets the page holds are the stream's: a step_end reaches the page's main thread as
columns (web/stream.js parses it in its worker) and is made back into one object per bank, a slice
per frame (web/events.js applyCompact). In headless Chromium, against the server's own step_end of
the same step. Waits on conditions only."""

import httpx
import pytest

from tests.deadlines import HANG_S
from tests.interactive.test_page_console import _open, _start, browser, console, page  # noqa: F401 (fixtures)
from tests.interactive.test_page_groups import _finished

pytest.importorskip("playwright")


def test_the_banks_shown_are_the_last_step_ends_banks_field_for_field_in_its_order(console, page):
    _open(page, console)
    sid = _start(page, banks="1000", steps="8", speed="0", scenario="cascade")
    _finished(console, page, sid)
    page.wait_for_function("window.__ib.applying === null")
    last = page.evaluate("window.__ib.totals.step")
    end = httpx.get(console + f"/api/interactive/step_end/{sid}", params={"step": last}, timeout=HANG_S).json()["data"]
    shown = page.evaluate("[...window.__ib.banks.values()]")
    assert end["defaults"] > 0, "defaulted banks (null ratios) are among them"
    assert any(b["leverage"] is None for b in end["banks"])
    assert shown == end["banks"]
    assert [list(b) for b in shown] == [list(b) for b in end["banks"]], "each bank's fields in the stream's order"
    assert [list(b["investments"]) for b in shown[:3]] == [list(b["investments"]) for b in end["banks"][:3]]
    # it went the columns' way: the worker parsed it, the page only built the objects
    cost = page.evaluate("window.__ib.stepEndCost")
    assert cost and all(parse >= 0 and apply >= 0 for parse, apply in cost)
    equity = page.evaluate("(id) => window.__ib.equityHistory.get(id)", end["banks"][0]["id"])
    assert equity[-1] == (0 if end["banks"][0]["defaulted"] or end["banks"][0]["deleted"] else end["banks"][0]["equity"])

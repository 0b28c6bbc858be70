"""The aggregated view for 1,000 banks and more, in headless Chromium: banks in groups, exposures
between groups as a matrix, defaulted banks counted and marked; its totals are the stream's (the
step_end of the step shown) and the server's exposures of that step. Waits on conditions only."""

import time

import httpx
import pytest

from tests.deadlines import HANG_S
from tests.interactive.test_page_console import _open, _start, browser, console, page  # noqa: F401 (fixtures)

pytest.importorskip("playwright")

FIGURES = """(by) => { document.getElementById('groups-by').value = by; document.getElementById('groups-by').onchange();
  const rows = [...document.querySelectorAll('#groups-table tbody tr')], cell = (tr, k) => [...tr.querySelectorAll(`[data-k="${k}"]`)];
  return rows.map(tr => ({ total: tr.classList.contains('total'), banks: parseInt(cell(tr, 'banks')[0].textContent),
    defaulted: cell(tr, 'defaulted')[0].textContent, equity: +cell(tr, 'equity')[0].dataset.v,
    lent: cell(tr, 'lent').map(td => +td.dataset.v), row: cell(tr, 'lent-row').map(td => +td.dataset.v)[0],
    total_lent: cell(tr, 'lent-total').map(td => +td.dataset.v)[0] })); }"""


def _finished(console, page, sid):
    end = time.time() + HANG_S
    while httpx.get(console + "/api/interactive/status", params={"session_id": sid}, timeout=HANG_S).json()["state"] != "complete":
        assert time.time() < end
        time.sleep(0.1)
    page.wait_for_function("window.__ib.finished && window.__ib.queue.length === 0")


def test_the_grouped_view_shows_at_1000_banks_and_its_totals_are_the_streams(console, page):
    _open(page, console)
    small = _start(page, banks="30", steps="2", speed="0")
    _finished(console, page, small)
    assert page.locator("#groups").is_hidden(), "no grouped view below 1,000 banks"

    _start(page, banks="1000", steps="6", speed="0", scenario="cascade")
    page.wait_for_function("(old) => window.__ib.session !== old && window.__ib.init && window.__ib.names.length === 1000", arg=small)
    sid = page.evaluate("window.__ib.session")
    _finished(console, page, sid)
    last = page.evaluate("window.__ib.totals.step")
    got = httpx.get(console + f"/api/interactive/step_end/{sid}", params={"step": last}, timeout=HANG_S)
    assert got.status_code == 200, (last, got.text)
    end = got.json()["data"]
    exposures = httpx.get(console + f"/api/interactive/exposures/{sid}", params={"step": last}, timeout=HANG_S).json()
    page.wait_for_function("(s) => !document.getElementById('groups').hidden && document.getElementById('groups-note').textContent.startsWith(`step ${s}:`)", arg=last)
    assert end["defaults"] > 0, "the cascade at 1,000 banks has defaults to show"
    for by, groups in (("size", 5), ("core", 2)):
        rows = page.evaluate(FIGURES, by)
        *groups_rows, total = rows
        assert len(groups_rows) == groups and total["total"]
        assert sum(r["banks"] for r in groups_rows) == total["banks"] == len(end["banks"]) == 1000
        defaulted = sum(int(r["defaulted"].replace("×", "").strip()) for r in groups_rows)
        assert defaulted == int(total["defaulted"].replace("×", "").strip()) == end["defaults"]
        assert total["defaulted"].startswith("×")  # marked, as on the network
        assert total["equity"] == pytest.approx(end["total_capital"], rel=1e-9)
        assert total["total_lent"] == pytest.approx(exposures["total"], rel=1e-9)
        assert sum(r["row"] for r in groups_rows) == pytest.approx(exposures["total"], rel=1e-9)
        assert sum(sum(r["lent"]) for r in groups_rows) == pytest.approx(exposures["total"], rel=1e-9)
    text = page.inner_text("#groups-legend")
    for words in ("orange", "distress", "defaulted", "row → column", "fifths", "core"):
        assert words in text
    assert page.errors == []

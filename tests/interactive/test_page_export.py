"""Data to take away, and a session that outlives its server, in headless Chromium: every chart
downloads as PNG and CSV, the bank and system tables as CSV with the rows shown, the stream as
JSONL; after the server is killed and restarted the page shows the session interrupted and
resumes it. Waits on conditions only."""

import csv
import io
import json

import pytest

from tests.interactive.conftest import killed_mid_session, serve, serving, stop
from tests.interactive.test_page import CHROMIUM, FLAGS
from tests.interactive.test_page_console import _open, _start
from tests.interactive.test_server import status

pytest.importorskip("playwright")
from playwright.sync_api import expect, sync_playwright

from tests.deadlines import HANG_MS

expect.set_options(timeout=HANG_MS)


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        yield b
        b.close()


@pytest.fixture()
def page(browser):
    ctx = browser.new_context(viewport={"width": 1400, "height": 900}, accept_downloads=True)
    pg = ctx.new_page()
    pg.errors = []
    pg.on("pageerror", lambda e: pg.errors.append(str(e)))
    yield pg
    ctx.close()


def _download(page, selector):
    with page.expect_download(timeout=HANG_MS) as info:
        page.click(selector)
    d = info.value
    return d.suggested_filename, open(d.path(), "rb").read()


def _csv(data: bytes):
    return list(csv.reader(io.StringIO(data.decode())))


def _paused_session(page, base):
    _open(page, base)
    _start(page, banks="25", steps="3000", speed="20")
    page.wait_for_function("+document.getElementById('step').textContent >= 6")
    page.click("#pause")
    expect(page.locator("#state")).to_have_text("paused")
    page.wait_for_function("window.__ib.queue.length === 0 && document.getElementById('feed').textContent.includes('paused')")
    return page.evaluate("window.__ib.session")


def _show(page, bank="bank_4"):
    page.select_option("#bank-select", bank)
    page.click("#markets div.market >> nth=0")
    expect(page.locator("#market-dash")).to_be_visible()
    # the panels are drawn in the frames after the selection (later on a busy machine): wait until the
    # charts hold what they show now, or a download can still be the previous bank's
    page.wait_for_function(
        f"((document.getElementById('bank-spark').csv || {{header: []}}).header.join() || '').includes('{bank}')"
        " && ['system-spark', 'market-price', 'market-flows'].every(id => document.getElementById(id).csv)")


# Chromium lets one tab start about ten downloads in a burst, then throttles it for a while: each
# test below stays under that, in a tab of its own
def test_the_tables_download_as_csv_with_the_rows_shown_and_the_stream_as_jsonl(page, tmp_path):
    with serving("--data-dir", str(tmp_path)) as (base, _):
        sid = _paused_session(page, base)
        _show(page)
        # tables: the CSV is the rows shown, cell for cell
        for button, table, what in (("#bank-csv", "#bank-sheet", "bank-bank_4"), ("#system-csv", "#system-sheet", "system")):
            name, data = _download(page, button)
            shown = page.eval_on_selector(table, "t => [...t.querySelectorAll('tr')].map(tr => [...tr.children].map(td => td.textContent))")
            step = page.inner_text("#step")
            assert name == f"interbank-{sid}-{what}-step{step}.csv"
            rows = _csv(data)
            assert rows[0] == ["figure", "value"] and rows[1:] == shown and len(shown) >= 10
            assert all(v != "–" for _, v in shown[:8]), shown  # figures, not placeholders
            if what.startswith("bank"):
                assert ["cash", page.inner_text("#bank-cash")] in rows and page.text_content("#bank-name") == "bank_4"

        # every bank at the step shown, raw numbers
        _, data = _download(page, "#banks-csv")
        rows = _csv(data)
        banks = page.evaluate("[...window.__ib.banks.values()].map(b => [b.id, b.equity])")
        assert len(rows) == 1 + len(banks) == 26
        col = rows[0].index("equity")
        assert {r[0]: float(r[col]) for r in rows[1:]} == pytest.approx(dict(banks))

        # the stream as JSONL: the server's export, every event up to the pause
        name, data = _download(page, "#stream-jsonl")
        lines = data.decode().splitlines()
        assert name == f"interbank-{sid}.jsonl"
        assert len(lines) == status(base, sid)["last_seq"] + 1
        assert json.loads(lines[0])["type"] == "init" and json.loads(lines[-1])["type"] == "paused"
        assert page.errors == []


def test_every_chart_downloads_as_png_and_as_csv_of_the_figures_drawn(page, tmp_path):
    with serving("--data-dir", str(tmp_path)) as (base, _):
        _paused_session(page, base)
        _show(page)
        for chart in ("bank-spark", "system-spark", "market-price", "market-flows"):
            name, png = _download(page, f"div.export[data-chart='{chart}'] button.export-png")
            assert png.startswith(b"\x89PNG") and name.endswith(".png") and chart in name
            name, data = _download(page, f"div.export[data-chart='{chart}'] button.export-csv")
            drawn = page.evaluate(f"document.getElementById('{chart}').csv")
            rows = _csv(data)
            assert rows[0] == drawn["header"] and len(rows) - 1 == len(drawn["rows"]) >= 5, chart
            got = [float(x) for r in rows[1:] for x in r[-2:]]
            assert got == pytest.approx([float(x) for r in drawn["rows"] for x in r[-2:]]), chart
            if chart == "system-spark":  # total capital at every step the page showed
                steps = page.evaluate("window.__ib.stepTotals.map(t => [t.step, t.capital])")
                assert [float(x) for r in rows[1:] for x in r] == pytest.approx([x for r in steps[-300:] for x in r])
        _, png = _download(page, "div.export[data-chart='network'] button.export-png")
        assert png.startswith(b"\x89PNG") and len(png) > 5000
        assert page.errors == []


def test_after_a_killed_server_restarts_the_page_shows_the_session_interrupted_and_resumes_it(browser, page, tmp_path):
    sid = killed_mid_session(tmp_path, {"n_banks": 15, "steps": 3000, "speed": 20},
                             lambda st: st["step"] >= 5 and st["stored_seq"] >= st["last_seq"] - 200)
    proc, base = serve("--data-dir", str(tmp_path))
    try:
        page.goto(f"{base}/?session={sid}")
        expect(page.locator("#state")).to_have_text("interrupted")
        expect(page.locator("#resume")).to_be_enabled()
        # its exposures went with the server that ran it: said, not a bare dash
        expect(page.locator("#sys-exposures")).to_have_text("not kept for this step")
        expect(page.locator(f"#sessions tr[data-session='{sid}']")).to_contain_text("interrupted")
        stored = status(base, sid)["step"]
        page.wait_for_function(f"+document.getElementById('step').textContent === {stored}")  # read back from disk
        page.click("#resume")
        expect(page.locator("#state")).to_have_text("running")
        page.wait_for_function(f"+document.getElementById('step').textContent >= {stored + 3}")
        assert "paused" in page.inner_text("#feed") and page.errors == []
    finally:
        stop(proc)

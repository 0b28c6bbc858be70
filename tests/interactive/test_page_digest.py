"""A step's small events (transactions, profit bookings, facility draws) reach the page as digests,
columns made by its stream worker (web/stream.js), and are applied without an object per event
(web/events.js applyDigest). The page must show exactly what it shows when it applies each event as
its text (``?events=raw``): two pages watch the same session, one each way, and every figure, list
and sample they keep is compared."""


import pytest

from tests.deadlines import HANG_MS
from tests.interactive.conftest import scenarios_folder_with, serving
from tests.interactive.test_page import CHROMIUM, FLAGS
from tests.interactive.test_page_console import _open, _start

pytest.importorskip("playwright")
from playwright.sync_api import sync_playwright


# what the page keeps of the stream: the feed's list for its filters (every item, its text as
# shown), the feed and the log as drawn, market flows per step, each bank's priority, the totals
SHOWN = """() => { const S = window.__ib, text = (r) => typeof r.text === 'function' ? r.text() : r.text;
  return { recent: S.recent.map(r => [r.step, r.kind, r.banks, text(r)]),
    feed: [...document.querySelectorAll('#feed li')].map(li => [li.textContent, li.className]),
    log: [...document.querySelectorAll('#log li')].map(li => li.textContent),
    flows: [...S.marketFlows].map(([name, f]) => [name, f.now, f.steps]),
    priorities: [...S.banks.values()].map(b => [b.id, b.priority]),
    totals: S.stepTotals, cbDraws: S.cbDraws ?? null, lastSeq: S.lastSeq }; }"""


@pytest.fixture(scope="module")
def console(tmp_path_factory):
    configs = scenarios_folder_with(tmp_path_factory.mktemp("configs"))
    with serving("--configs", str(configs)) as (base, _):
        yield base


def test_the_page_shows_the_same_from_digests_as_from_each_event_s_text(console):
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        pages, errors = [], []
        for _ in range(2):
            pg = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
            pg.on("pageerror", lambda e: errors.append(str(e)))
            pages.append(pg)
        digests, raw = pages
        _open(digests, console)
        # 600 banks, 12 steps: ~1,000-2,000 events a step, so the filters' list is cut several times
        sid = _start(digests, banks="600", steps="12", speed="4")
        raw.goto(console + f"/?session={sid}&events=raw")
        for pg in pages:
            pg.wait_for_function("window.__ib.finished && window.__ib.queue.length === 0", timeout=HANG_MS)
        a, b = (pg.evaluate(SHOWN) for pg in pages)
        used = [pg.evaluate("window.__ib.digestsApplied") for pg in pages]
        browser.close()
    assert used[0] > 0 and used[1] == 0 and len(a["totals"]) == 12
    assert len(a["recent"]) >= 5000 and any(r[1] == "profit" for r in a["recent"])
    assert sum(1 for text, cls in a["feed"] if cls == "tx") > 0
    for key in a:
        assert a[key] == b[key], key
    assert errors == []

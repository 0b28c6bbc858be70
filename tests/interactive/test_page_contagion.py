"""Contagion you can read at 1,000 banks, in headless Chromium: a defaulted bank keeps a visible
size and mark, and a contagion in focus (a defaulted bank selected) is drawn on top of everything
else, faded. Judged from the pixels the page shows. Waits on conditions only."""

import io
import time

import httpx
import pytest

from tests.deadlines import HANG_S
from tests.interactive.test_page_console import _open, _start, browser, console, page  # noqa: F401 (fixtures)

pytest.importorskip("playwright")
PIL = pytest.importorskip("PIL.Image")

WHERE = """(id) => { const S = window.__ib, c = document.getElementById('network'), r = c.getBoundingClientRect(), i = S.index.get(id);
  return [r.left + S.proj[2 * i] * r.width / c.width, r.top + S.proj[2 * i + 1] * r.height / c.height, S.nodes[i].r * r.width / c.width]; }"""


def _pixels(page, x, y, half=3):
    shot = page.screenshot(clip={"x": x - half, "y": y - half, "width": 2 * half + 1, "height": 2 * half + 1})
    raw = PIL.open(io.BytesIO(shot)).convert("RGB").tobytes()
    return [tuple(raw[k:k + 3]) for k in range(0, len(raw), 3)]


def _painted(page, focus):
    """Wait until the network on screen is the one the page's state asks for (``focus``: what of a
    contagion in focus it shows: None, "banks" or "edges")."""
    page.wait_for_function("(f) => { const S = window.__ib; return !S.dirty && S.basePainted === S.baseWanted && S.baseFocus === f; }", arg=focus)


def _brightness(page, x, y):
    px = _pixels(page, x, y)
    return sum(sum(p) for p in px) / (3 * len(px))


def test_a_defaulted_bank_stays_visible_and_its_contagion_in_focus_fades_the_rest_at_1000_banks(console, page):
    _open(page, console)
    sid = _start(page, banks="1000", steps="6", speed="0", scenario="cascade")
    end = time.time() + HANG_S
    while httpx.get(console + "/api/interactive/status", params={"session_id": sid}, timeout=HANG_S).json()["state"] != "complete":
        assert time.time() < end
        time.sleep(0.1)
    page.wait_for_function("window.__ib.finished && window.__ib.queue.length === 0 && !window.__ib.cascadeAnim && !window.__ib.focus")
    failed = page.evaluate("[...window.__ib.banks.values()].filter(b => b.defaulted && !b.deleted).map(b => b.id)")
    assert failed, "the stress run has a default"
    bank = failed[0]
    _painted(page, None)
    x, y, r = page.evaluate(WHERE, bank)
    assert r >= 4, f"a defaulted bank drawn {r:.1f} px wide"
    red = [p for p in _pixels(page, x, y, 2) if p[0] > 150 and p[1] < 120 and p[2] < 120]
    assert red, "the defaulted bank's red disc is on screen"
    # a healthy bank away from the contagion: bright before the focus, faded in it
    page.select_option("#bank-select", bank)
    page.wait_for_function("window.__ib.focus && window.__ib.focus.edges !== null")
    involved = set(page.evaluate("[...window.__ib.focus.edges.lender, ...window.__ib.focus.edges.borrower].map(i => window.__ib.names[i])"))
    assert involved, "the defaulted bank had exposures the step before"
    healthy = page.evaluate("""(skip) => [...window.__ib.banks.values()].filter(b => !b.defaulted && !b.deleted && !skip.includes(b.id))
        .sort((a, b) => b.equity - a.equity).slice(0, 40).map(b => b.id)""", sorted(involved | set(failed)))
    _painted(page, "edges")
    faded = [_brightness(page, *page.evaluate(WHERE, b)[:2]) for b in healthy[:5]]
    page.select_option("#bank-select", healthy[0])
    _painted(page, None)
    bright = [_brightness(page, *page.evaluate(WHERE, b)[:2]) for b in healthy[:5]]
    assert sum(faded) < 0.6 * sum(bright), (faded, bright)
    assert page.errors == []

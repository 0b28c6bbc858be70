"""What the page's figures mean, in headless Chromium: a tooltip on every header figure and panel
row, sparklines with their lowest and highest value written, no "-0" on a chart's axis, and the
network still in view when the branch comparison opens. Waits on conditions only."""

import re

import pytest

from tests.interactive.test_page_console import _open, _pause, _start, browser, console, page  # noqa: F401 (fixtures)

pytest.importorskip("playwright")

# every text drawn on a canvas, by canvas id (the page draws axes and labels with fillText)
RECORD_TEXT = """(() => { const original = CanvasRenderingContext2D.prototype.fillText; window.__texts = {};
  CanvasRenderingContext2D.prototype.fillText = function (text, x, y, ...rest) {
    const id = this.canvas && this.canvas.id; if (id) (window.__texts[id] = window.__texts[id] || []).push(String(text));
    return original.call(this, text, x, y, ...rest); }; })();"""


def test_every_header_figure_and_panel_row_explains_itself_in_a_tooltip(console, page):
    _open(page, console)
    missing = page.evaluate("""[...document.querySelectorAll('header .stats > div, #bank-sheet tr, #system-sheet tr')]
        .filter(el => !(el.title || '').trim()).map(el => el.textContent.trim())""")
    assert missing == []
    titles = page.evaluate("[...document.querySelectorAll('header .stats > div')].map(d => d.title)")
    assert any("$" in t or "dollar" in t for t in titles)


def test_sparklines_write_their_lowest_and_highest_value(console, page):
    page.add_init_script(RECORD_TEXT)
    _open(page, console)
    _start(page, banks="20", steps="400", speed="20")
    page.wait_for_function("+document.getElementById('step').textContent >= 5")
    _pause(page)
    page.evaluate("window.__texts = {}")
    page.evaluate("window.__page.redrawPanels()")
    texts = page.evaluate("window.__texts")
    lo, hi = page.evaluate("""(() => { const xs = window.__ib.stepTotals.slice(-300).map(s => s.capital);
        return [window.__page.fmtShort(Math.min(...xs)), window.__page.fmtShort(Math.max(...xs))]; })()""")
    assert lo in texts.get("system-spark", []) and hi in texts.get("system-spark", []), texts.get("system-spark")
    bank = page.evaluate("""(() => { const S = window.__ib, h = S.equityHistory.get(S.selected);
        return [window.__page.fmtShort(Math.min(...h)), window.__page.fmtShort(Math.max(...h))]; })()""")
    assert set(bank) <= set(texts.get("bank-spark", [])), texts.get("bank-spark")
    assert page.errors == []


def test_no_chart_axis_shows_negative_zero(console, page):
    page.add_init_script(RECORD_TEXT)
    _open(page, console)
    _start(page, banks="20", steps="400", speed="20", scenario="stress")
    page.wait_for_function("+document.getElementById('step').textContent >= 6")
    _pause(page)
    page.click("#markets div")  # the first market's dashboard: price and net flows
    page.wait_for_function("(window.__texts['market-flows'] || []).length > 0")
    page.evaluate("window.__page.redrawPanels()")
    drawn = [t for texts in page.evaluate("window.__texts").values() for t in texts]
    assert drawn and not [t for t in drawn if re.fullmatch(r"[-−]\$?0(\.0+)?[kM%]?", t)]
    assert page.errors == []


def test_the_network_stays_in_view_when_the_branch_comparison_opens(console, page):
    _open(page, console)
    _start(page, banks="12", steps="400", speed="20")
    page.wait_for_function("+document.getElementById('step').textContent >= 2")
    _pause(page)
    before = page.evaluate("document.getElementById('network').getBoundingClientRect().toJSON()")
    page.click("#branch")
    page.wait_for_function("window.__ib.compare && window.__ib.compare.totals.length > 0 && !document.getElementById('compare').hidden")
    rect = page.evaluate("document.getElementById('network').getBoundingClientRect().toJSON()")
    assert rect["top"] >= 0 and rect["bottom"] <= 900, rect
    assert abs(rect["top"] - before["top"]) < 1, (before, rect)
    assert page.errors == []


def test_a_narrow_window_keeps_the_network_wide_and_every_control_whole(console, page):
    """At 800x600 the network was squeezed to 126x90 px between the side columns and "Branch from
    here" was cut: the side columns go below the network, and the page scrolls."""
    page.set_viewport_size({"width": 800, "height": 600})
    _open(page, console)
    _start(page, banks="12", steps="400", speed="20")
    page.wait_for_function("+document.getElementById('step').textContent >= 2")
    _pause(page)
    box = page.locator("canvas#network").bounding_box()
    assert box["width"] >= 0.9 * 800 - 60 and box["height"] >= 300, box
    for button in ("#timeline-branch", "#start", "#add-capital"):
        whole = page.evaluate(f"(() => {{ const b = document.querySelector('{button}'); const r = b.getBoundingClientRect(); "
                              "return b.scrollWidth <= b.clientWidth && r.width > 40 && r.height > 12; })()")
        assert whole, button
    header = page.locator("header").bounding_box()
    assert header["width"] <= 800 and page.evaluate("document.documentElement.scrollWidth") <= 800
    assert page.errors == []

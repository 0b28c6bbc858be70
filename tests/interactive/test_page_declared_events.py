"""An event type registered with a feed line (interbank/sim/event_types/) shows in the page's
activity feed from the served vocabulary alone: the page has no handler of its own for it."""

import pytest

from tests.deadlines import HANG_MS
from tests.interactive.conftest import serving
from tests.interactive.test_page import CHROMIUM, FLAGS

if CHROMIUM is None:  # test_page skips its module without it; so does this one
    pytest.skip("chromium is not installed", allow_module_level=True)

SCENARIO = """env:
  n_banks: 5
  max_steps: 4
  markets:
    dynamic: {type: regime_switching, params: {enter: 1.0, leave: 1.0}}
"""


def test_a_regime_switch_appears_in_the_feed_as_its_declared_line(tmp_path):
    from playwright.sync_api import sync_playwright

    (tmp_path / "regimes.yaml").write_text(SCENARIO)
    with serving("--no-store", "--configs", str(tmp_path)) as (base, _), sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        page = browser.new_page(viewport={"width": 1500, "height": 900})
        page.set_default_timeout(HANG_MS)
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(base + "/")
        page.wait_for_function("document.getElementById('scenario').options.length > 1")
        page.select_option("#scenario", "regimes")
        page.select_option("#policy", "policy:hold")
        page.fill("#speed", "0")
        page.click("#start")
        page.wait_for_function("document.getElementById('feed').textContent.includes('complete')")
        feed = page.inner_text("#feed")
        assert "BANK_INDEX: stress regime (volatility 0.05 a step)" in feed
        assert "FIN_SERVICES: calm regime (volatility 0.01 a step)" in feed
        browser.close()
    assert not errors

"""The page in a real headless Chromium (Debian's package) driven by Playwright."""

import os
import shutil
from pathlib import Path

import pytest

from tests.deadlines import HANG_MS

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

if CHROMIUM is None:
    if os.environ.get("INTERBANK_REQUIRE_BROWSER"):
        raise RuntimeError("INTERBANK_REQUIRE_BROWSER is set but chromium is not installed (apt-get install chromium)")
    pytest.skip("chromium is not installed (apt-get install chromium)", allow_module_level=True)

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _text(page, selector):
    return page.inner_text(selector).strip()


def test_start_pause_modify_resume_stop_in_the_browser(server, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=HANG_MS)

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        page = browser.new_page(viewport={"width": 1500, "height": 900})
        page.set_default_timeout(HANG_MS)  # deadlines for conditions, generous for a busy machine
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(server + "/")
        page.wait_for_function("document.getElementById('policy').options.length > 0")
        page.select_option("#policy", "policy:heuristic")
        page.fill("#n-banks", "30")
        page.fill("#steps", "500")
        page.fill("#speed", "10")
        page.click("#start")
        # the step counter moves
        page.wait_for_function("+document.getElementById('step').textContent >= 3")
        page.click("#pause")
        page.wait_for_function("document.getElementById('state').textContent === 'paused'")
        # the stream's paused event comes after the last step_end: once it is shown the page has caught up
        page.wait_for_function("document.getElementById('feed').textContent.includes('paused')")
        step = _text(page, "#step")
        # add capital to bank_4 and see its equity change
        page.select_option("#bank-select", "bank_4")
        before = float(_text(page, "#bank-equity").replace(",", "").replace("$", ""))
        ratio = float(_text(page, "#bank-cr").rstrip("%"))
        page.fill("#amount", "1000")
        page.click("#add-capital")
        page.wait_for_function(f"parseFloat(document.getElementById('bank-equity').textContent.replace(/[$,]/g, '')) > {before + 999}")
        # its capital ratio too (the event carries the bank's sheet after it: no figure left stale while paused)
        assert float(_text(page, "#bank-cr").rstrip("%")) > ratio
        assert _text(page, "#step") == step  # paused: nothing moved while the command went round trip
        system_cb = float(_text(page, "#sys-cb").replace(",", "").replace("$", ""))
        lcr = _text(page, "#bank-lcr")
        # central bank: lend it 500 of emergency liquidity, move the policy rate, try a bad capital requirement
        cb_before = float(_text(page, "#bank-cb").replace(",", "").replace("$", ""))
        page.fill("#cb-amount", "500")
        page.click("#cb-inject")
        page.wait_for_function("document.getElementById('feed').textContent.includes('central bank: bank_4 +$500.00 liquidity')")
        page.wait_for_function(f"parseFloat(document.getElementById('bank-cb').textContent.replace(/[$,]/g, '')) > {cb_before + 499}")
        assert float(_text(page, "#sys-cb").replace(",", "").replace("$", "")) > system_cb + 499  # the system's total
        assert _text(page, "#bank-lcr") != lcr  # and the bank's liquidity coverage, with its new cash and loan
        page.fill("#cb-rate", "3.5")
        page.click("#cb-set-rate")
        page.wait_for_function("document.getElementById('cb-rate-now').textContent === '3.50%'")
        page.fill("#cb-capital", "150")
        page.click("#cb-set-capital")
        page.wait_for_function("document.getElementById('message').textContent.includes('between 0% and 100%; got 150%')")
        assert "min capital ratio" not in _text(page, "#feed")
        # delete it (the page asks, naming it) and see it gone
        page.click("#delete-bank")
        expect(page.locator("#confirm-text")).to_contain_text("bank_4")
        page.click("#confirm-yes")
        page.wait_for_function("document.getElementById('bank-state').textContent === 'deleted'")
        feed = _text(page, "#feed")
        assert "bank_4 deleted" in feed and "bank_4 +$1,000 capital" in feed and "paused" in feed, feed
        assert "central bank: policy rate 3.50%" in feed, feed
        # the deleted bank stays shown (and listed, marked); nothing can act on it any more
        assert page.input_value("#bank-select") == "bank_4"
        options = page.eval_on_selector_all("#bank-select option", "els => els.map(e => e.textContent)")
        assert "bank_4 (deleted)" in options and len(options) == 30
        assert page.is_disabled("#add-capital") and page.is_disabled("#delete-bank") and page.is_disabled("#cb-inject")
        page.click("#resume")
        page.wait_for_function(f"+document.getElementById('step').textContent > {int(step)}")
        assert _text(page, "#active") in {str(k) for k in range(0, 30)}
        page.click("#stop")
        page.wait_for_function("document.getElementById('state').textContent === 'stopped'")
        # the stream delivers the stop too: the feed ends with it
        page.wait_for_function("document.getElementById('feed').textContent.includes('complete (stopped)')")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "page.png"))
        assert errors == []
        browser.close()


XSS = '<img src=x onerror="window.__pwned = 1">'


def test_server_text_is_escaped_in_the_page(tmp_path):
    """A scenario whose market is named like HTML shows the name as text and runs nothing."""
    import yaml
    from playwright.sync_api import sync_playwright

    from tests.interactive.conftest import serve, stop

    configs = tmp_path / "configs"
    configs.mkdir()
    (configs / "markup.yaml").write_text(yaml.safe_dump({"env": {"n_banks": 6, "markets": {"names": [XSS, "<b>two</b>"]}}}))
    proc, base = serve("--configs", str(configs))
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
            page = browser.new_page()
            page.set_default_timeout(HANG_MS)
            page.goto(base + "/")
            page.wait_for_function("document.getElementById('scenario').options.length > 1")
            page.select_option("#scenario", "markup")
            page.fill("#steps", "50")
            page.fill("#speed", "20")
            page.click("#start")
            page.wait_for_function("document.getElementById('markets').children.length >= 2")
            assert XSS in _text(page, "#markets") and "<b>two</b>" in _text(page, "#markets")
            assert page.evaluate("window.__pwned") is None
            assert page.eval_on_selector_all("#markets img, #markets b", "els => els.length") == 0
            browser.close()
    finally:
        stop(proc)

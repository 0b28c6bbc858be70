"""The page's central bank panel in headless Chromium: the agent chosen at start, its decisions as
the stream has them, what it saw, and a person's override while paused. Waits on conditions only."""

import json

import httpx
import pytest

from tests.deadlines import HANG_S
from tests.interactive.conftest import scenarios_folder_with, serving
from tests.interactive.test_page_console import _open, _pause, _start, browser, page  # noqa: F401 (fixtures)

pytest.importorskip("playwright")
from playwright.sync_api import expect  # noqa: E402

# a central bank that decides every step and raises the rate toward 6% (the page chooses taylor)
SCENARIO = """\
env:
  n_banks: 10
  max_steps: 400
  central_bank: {agent: false, rule: taylor, every: 1, rule_params: {funding: 0.0, credit: 0.0, neutral: 0.06}}
"""


@pytest.fixture(scope="module")
def cb_console(tmp_path_factory):
    configs = scenarios_folder_with(tmp_path_factory.mktemp("configs"), {"cbtaylor": SCENARIO})
    with serving("--configs", str(configs)) as (base, _):
        yield base


def _start_with_taylor(page, base):
    _open(page, base)
    offered = page.eval_on_selector_all("#central-bank option", "os => os.map(o => o.value)")
    served = [c["name"] for c in httpx.get(base + "/api/vocabulary", timeout=HANG_S).json()["central_banks"]]
    assert offered == ["", *served]  # the menu is the served vocabulary
    # learned needs a two-policy checkpoint: this server has none, so it is listed but not offered
    assert httpx.get(base + "/api/checkpoints", timeout=HANG_S).json()["central_bank"] == []
    disabled = page.eval_on_selector_all("#central-bank option", "os => os.filter(o => o.disabled).map(o => o.value)")
    assert disabled == [c["name"] for c in httpx.get(base + "/api/vocabulary", timeout=HANG_S).json()["central_banks"]
                        if c["needs_checkpoint"]] == ["learned"]
    page.select_option("#central-bank", "taylor")
    _start(page, banks=None, steps=None, speed="10", scenario="cbtaylor")
    expect(page.locator("#cb-panel")).to_be_visible()
    return page.evaluate("window.__ib.session")


def _agent_decisions(base, sid):
    lines = httpx.get(f"{base}/api/interactive/stream/{sid}.jsonl", timeout=HANG_S).text.splitlines()
    events = [json.loads(x) for x in lines]
    first = {}
    for e in events:
        if e["type"] == "central_bank" and e["data"].get("source") == "agent":
            first.setdefault(e["step"], e)
    return [first[s] for s in sorted(first)]


def test_the_panel_shows_the_agent_s_decisions_and_what_it_saw_as_the_stream_has_them(cb_console, page):
    sid = _start_with_taylor(page, cb_console)
    page.wait_for_function("window.__ib.cb && window.__ib.cb.decisions.length >= 3")
    _pause(page)
    recorded = _agent_decisions(cb_console, sid)
    shown = page.evaluate("window.__ib.cb.decisions")
    assert [(d["step"], d["decision"]) for d in shown] == [(e["step"], e["data"]["decision"]) for e in recorded]
    assert "rate_up" in [d["decision"] for d in shown]
    last = recorded[-1]
    expect(page.locator("#cb-last")).to_contain_text(f"step {last['step']}: {last['data']['decision']}")
    rows = page.eval_on_selector_all("#cb-seen tbody tr", "rs => rs.map(r => [r.dataset.feature, r.cells[1].textContent])")
    assert [name for name, _ in rows] == list(last["data"]["observation"])
    assert all(text == f"{last['data']['observation'][name]:.3f}" for name, text in rows)
    # the rate and buffer chart has axes and one point per step shown
    axis = page.evaluate("document.getElementById('cb-rates').axis")
    assert axis is not None and axis["x1"] > axis["x0"]
    series = page.evaluate("window.__ib.cb.series")
    assert [p["step"] for p in series] == list(range(1, len(series) + 1))
    # after a reload the Setup form says who played the central bank, and the panel is rebuilt
    page.reload()
    expect(page.locator("#session-id")).to_have_text(sid)
    expect(page.locator("#central-bank")).to_have_value("taylor")
    expect(page.locator("#cb-last")).to_contain_text(f"step {last['step']}: {last['data']['decision']}")
    page.click("#stop")
    assert page.errors == []


def test_a_person_s_rate_while_paused_stands_for_that_step_and_the_agent_decides_after(cb_console, page):
    sid = _start_with_taylor(page, cb_console)
    page.wait_for_function("window.__ib.cb && window.__ib.cb.decisions.length >= 2")
    _pause(page)
    paused_at = int(page.inner_text("#step"))
    page.fill("#cb-rate", "1")
    page.click("#cb-set-rate")
    expect(page.locator("#cb-rate-now")).to_have_text("1.00%")
    page.click("#resume")
    page.wait_for_function(f"window.__ib.cb.decisions.some(d => d.step >= {paused_at + 2})")
    _pause(page)
    shown = {d["step"]: d for d in page.evaluate("window.__ib.cb.decisions")}
    assert shown[paused_at + 1]["decision"] == "hold" and shown[paused_at + 1]["overridden"] is True
    assert shown[paused_at + 2]["decision"] == "rate_up" and not shown[paused_at + 2]["overridden"]
    rates = {p["step"]: p["rate"] for p in page.evaluate("window.__ib.cb.series")}
    assert rates[paused_at + 1] == 0.01 and rates[paused_at + 2] == 0.01  # in force through the next step
    expect(page.locator("#feed")).to_contain_text("a person's command stands this step")
    recorded = {e["step"]: e["data"] for e in _agent_decisions(cb_console, sid)}
    assert recorded[paused_at + 1]["overridden"] is True
    page.click("#stop")
    assert page.errors == []

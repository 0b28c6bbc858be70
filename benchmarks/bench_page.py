"""The web page under load: frames per second, the longest frame gap, click latency and stream
drops, in headless Chromium (Debian's), while a session runs at 5 steps/s.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_page.py [--banks 100,1000,10000] [--seconds 10]

For each size: a server is started, the page starts a session of that many banks, and after a
warm-up of 3 steps the page's own animation-frame callbacks are timed for ``--seconds``. A click
on a bank is timed from the click to the bank panel showing it. Drops: the browser's stream
errors (EventSource ``error`` events) and the server's ``dropped_viewers``. Screenshots go to
docs/page-<banks>.png. Results: benchmarks/results/page.json. The machine is noisy: the figures
are one run each, with the machine's load shown beside them.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.interactive.conftest import serving  # noqa: E402

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
PROBE = """() => {
  const S = window.__ib; S.bench = { gaps: [], last: performance.now(), errors0: S.streamErrors, frames: 0 };
  const tick = (t) => { const b = S.bench; b.gaps.push(t - b.last); b.last = t; b.frames++; if (!b.stop) requestAnimationFrame(tick); };
  requestAnimationFrame(tick);
}"""


def measure(base: str, banks: int, seconds: float, shots: Path) -> dict:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=FLAGS, headless=True)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(base + "/")
        page.wait_for_function("document.getElementById('policy').options.length > 0")
        page.fill("#n-banks", str(banks))
        page.fill("#steps", "1000")
        page.fill("#speed", "5")
        page.click("#start")
        page.wait_for_function("+document.getElementById('step').textContent >= 3", timeout=600_000)
        sid = page.evaluate("window.__ib.session")
        page.evaluate(PROBE)
        step0 = int(page.inner_text("#step"))
        t0 = time.perf_counter()
        page.wait_for_timeout(seconds * 1000)  # the measurement window itself (a benchmark, not a test)
        wall = time.perf_counter() - t0
        bench = page.evaluate("(() => { const S = window.__ib, b = S.bench; b.stop = true; b.errors = S.streamErrors - b.errors0; return b; })()")
        step1 = int(page.inner_text("#step"))
        # click latency: a bank that is not selected, from the click to the panel showing it
        target = page.evaluate("window.__ib.names[Math.floor(window.__ib.names.length / 3)]")
        x, y = page.evaluate("""(id) => { const S = window.__ib, c = document.getElementById('network'), r = c.getBoundingClientRect();
            const p = S.nodes[S.index.get(id)], v = S.view, s = 0.47 * Math.min(c.width, c.height) * v.zoom, k = r.width / c.width;
            return [r.left + (c.width / 2 + v.x + p.x * s) * k, r.top + (c.height / 2 + v.y + p.y * s) * k]; }""", target)
        page.evaluate("(id) => { window.__ib.clickAt = performance.now(); window.__ib.clickFor = id; }", target)
        page.mouse.click(x, y)
        page.wait_for_function(f"document.getElementById('bank-name').textContent === '{target}'")
        click_ms = page.evaluate("performance.now() - window.__ib.clickAt")
        shots.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(shots / f"page-{banks}.png"))
        status = httpx.get(base + "/api/interactive/status", params={"session_id": sid}).json()
        httpx.post(base + "/api/interactive/control", json={"session_id": sid, "command": "stop"})
        browser.close()
    gaps = sorted(bench["gaps"][1:])
    return {
        "banks": banks, "seconds": round(wall, 2), "fps": round(bench["frames"] / wall, 1),
        "longest_frame_gap_ms": round(gaps[-1], 1) if gaps else None,
        "p99_frame_gap_ms": round(gaps[int(0.99 * (len(gaps) - 1))], 1) if gaps else None,
        "steps_shown": step1 - step0, "click_to_panel_ms": round(click_ms, 1),
        "stream_errors": bench["errors"], "dropped_viewers": status["dropped_viewers"],
        "resynced_viewers": status.get("resynced_viewers"), "page_errors": errors,
        "load_average": os.getloadavg()[0],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--banks", default="100,1000,10000")
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "page.json")
    ap.add_argument("--shots", type=Path, default=ROOT / "docs")
    args = ap.parse_args()
    results = []
    with serving("--max-banks", "10000") as (base, _):
        for n in [int(x) for x in args.banks.split(",")]:
            r = measure(base, n, args.seconds, args.shots)
            print(json.dumps(r), flush=True)
            results.append(r)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"machine": f"{os.cpu_count()} cores", "results": results}, indent=2) + "\n")


if __name__ == "__main__":
    main()

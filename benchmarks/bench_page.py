"""The web page under load: frames per second, the longest frame gap, click latency and stream
drops, in headless Chromium (Debian's), while a session runs at 5 steps/s.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_page.py [--banks 100,1000,10000] [--seconds 10]
        [--modes quiet,cascade]

For each size and mode: the page starts a session of that many banks (mode ``quiet``: the default
scenario; mode ``cascade``: configs/stress.yaml with two of its largest banks losing 6x their
capital at step 6, so that the window measured holds a cascade: the defaults, the cascade played
on the network with its contagion in focus, the grouped view from 1,000 banks), and after a
warm-up of 3 steps the page's own animation-frame callbacks are timed for ``--seconds``. Then
five clicks on banks, each timed from the click to the bank panel showing it (median and
longest), while the session runs on. Drops: the page's stream reconnects (its reader's
``streamErrors``) and the server's ``dropped_viewers`` (``resynced_viewers``: viewers that fell
behind their buffer and were re-fed on the same connection, not dropped). Screenshots go to
docs/results/page-<banks>.png. Results: benchmarks/results/page.json. The machine is noisy (a
shared 2-core machine): the figures are one run each, with the machine's load averages (1, 5,
15 min) at the start and end of each measurement beside them.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
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


def cascade_configs(folder: Path) -> None:
    """The server's scenarios, and ``stress_cascade``: stress.yaml with a cascade at step 6."""
    import yaml

    for p in (ROOT / "configs").glob("*.yaml"):
        shutil.copy(p, folder / p.name)
    cfg = yaml.safe_load((ROOT / "configs" / "stress.yaml").read_text())
    cfg["env"]["shocks"]["scheduled"] = [{"step": 6, "type": "capital_loss", "bank": 0, "size": 6.0},
                                         {"step": 6, "type": "capital_loss", "bank": 1, "size": 6.0}]
    (folder / "stress_cascade.yaml").write_text(yaml.safe_dump(cfg))


def measure(base: str, banks: int, seconds: float, shots: Path, mode: str = "quiet") -> dict:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=FLAGS, headless=True)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(base + "/")
        page.wait_for_function("document.getElementById('policy').options.length > 0")
        if mode == "cascade":
            page.select_option("#scenario", "stress_cascade")
        page.fill("#n-banks", str(banks))
        page.fill("#steps", "1000")
        page.fill("#speed", "5")
        page.click("#start")
        page.wait_for_function("+document.getElementById('step').textContent >= 3", timeout=600_000)
        sid = page.evaluate("window.__ib.session")
        load_before = os.getloadavg()
        page.evaluate(PROBE)
        step0 = int(page.inner_text("#step"))
        t0 = time.perf_counter()
        page.wait_for_timeout(seconds * 1000)  # the measurement window itself (a benchmark, not a test)
        wall = time.perf_counter() - t0
        bench = page.evaluate("(() => { const S = window.__ib, b = S.bench; b.stop = true; b.errors = S.streamErrors - b.errors0; return b; })()")
        step1 = int(page.inner_text("#step"))
        defaults = int(page.inner_text("#defaults"))
        # click latency: banks that are not selected, from the click to the panel showing each
        clicks = []
        for part in (3, 5, 7, 11, 13):
            target = page.evaluate(f"window.__ib.names[Math.floor(window.__ib.names.length / {part})]")
            x, y = page.evaluate("""(id) => { const S = window.__ib, c = document.getElementById('network'), r = c.getBoundingClientRect();
                const p = S.nodes[S.index.get(id)], v = S.view, s = 0.47 * Math.min(c.width, c.height) * v.zoom, k = r.width / c.width;
                return [r.left + (c.width / 2 + v.x + p.x * s) * k, r.top + (c.height / 2 + v.y + p.y * s) * k]; }""", target)
            # the time is taken in the page when the click arrives there, and when the panel shows the bank
            page.evaluate("""(id) => { const S = window.__ib; S.clickFor = id; S.clickMs = null;
                document.getElementById('network').addEventListener('pointerdown', (e) => { S.clickAt = e.timeStamp; }, { once: true });
                new MutationObserver((_, obs) => { if (document.getElementById('bank-name').textContent === id) {
                    S.clickMs = performance.now() - S.clickAt; obs.disconnect(); } }).observe(document.getElementById('bank-name'), { childList: true, characterData: true, subtree: true }); }""", target)
            page.mouse.click(x, y)
            page.wait_for_function("window.__ib.clickMs !== null", timeout=60_000)
            clicks.append(page.evaluate("window.__ib.clickMs"))
        clicks.sort()
        shots.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(shots / (f"page-{banks}.png" if mode == "quiet" else f"page-{mode}-{banks}.png")))
        status = httpx.get(base + "/api/interactive/status", params={"session_id": sid}).json()
        load_after = os.getloadavg()
        httpx.post(base + "/api/interactive/control", json={"session_id": sid, "command": "stop"})
        browser.close()
    gaps = sorted(bench["gaps"][1:])
    return {
        "banks": banks, "mode": mode, "defaults_shown": defaults, "seconds": round(wall, 2), "fps": round(bench["frames"] / wall, 1),
        "longest_frame_gap_ms": round(gaps[-1], 1) if gaps else None,
        "p99_frame_gap_ms": round(gaps[int(0.99 * (len(gaps) - 1))], 1) if gaps else None,
        "steps_shown": step1 - step0, "steps_per_second": round((step1 - step0) / wall, 2),
        "click_to_panel_ms": round(clicks[len(clicks) // 2], 1), "click_to_panel_longest_ms": round(clicks[-1], 1),
        "stream_errors": bench["errors"], "dropped_viewers": status["dropped_viewers"],
        "resynced_viewers": status.get("resynced_viewers"), "page_errors": errors,
        "load_average_start": [round(x, 2) for x in load_before], "load_average_end": [round(x, 2) for x in load_after],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--banks", default="100,1000,10000")
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--modes", default="quiet,cascade")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "page.json")
    ap.add_argument("--shots", type=Path, default=ROOT / "docs" / "results")
    args = ap.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as configs:
        cascade_configs(Path(configs))
        with serving("--max-banks", "10000", "--configs", configs) as (base, _):
            for n in [int(x) for x in args.banks.split(",")]:
                for mode in args.modes.split(","):
                    r = measure(base, n, args.seconds, args.shots, mode)
                    print(json.dumps(r), flush=True)
                    results.append(r)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"machine": f"{os.cpu_count()} cores", "results": results}, indent=2) + "\n")


if __name__ == "__main__":
    main()

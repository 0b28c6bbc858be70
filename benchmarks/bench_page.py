"""The web page under load: frames per second, the longest frame gap, click latency and stream
drops, in headless Chromium (Debian's), while a session runs at 5 steps/s.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_page.py [--banks 100,1000,10000] [--seconds 10]
        [--modes quiet,cascade] [--trace DIR] [--append LABEL]

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
15 min) at the start and end of each measurement beside them. ``--append LABEL`` adds the runs,
labelled, to the results file's ``results`` instead of replacing the file. ``--trace DIR`` records
a Chrome performance trace of each measurement window (DIR/trace-<banks>-<mode>.json) and adds its
long tasks (over 50 ms on the page's main thread, with what took their time) to the result; a
trace slows the page, so its figures are not comparable with untraced runs.
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


def measure(base: str, banks: int, seconds: float, shots: Path, mode: str = "quiet", trace: Path | None = None) -> dict:
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
        trace_file = trace / f"trace-{banks}-{mode}.json" if trace else None
        if trace_file:
            trace.mkdir(parents=True, exist_ok=True)
            browser.start_tracing(page=page, path=str(trace_file), categories=TRACE_CATEGORIES)
        page.evaluate(PROBE)
        step0 = int(page.inner_text("#step"))
        t0 = time.perf_counter()
        page.wait_for_timeout(seconds * 1000)  # the measurement window itself (a benchmark, not a test)
        wall = time.perf_counter() - t0
        if trace_file:
            browser.stop_tracing()
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
    extra = {"long_tasks": long_tasks(trace_file)} if trace_file else {}
    return {
        "banks": banks, "mode": mode, "defaults_shown": defaults, "seconds": round(wall, 2), "fps": round(bench["frames"] / wall, 1),
        "longest_frame_gap_ms": round(gaps[-1], 1) if gaps else None,
        "p99_frame_gap_ms": round(gaps[int(0.99 * (len(gaps) - 1))], 1) if gaps else None,
        "steps_shown": step1 - step0, "steps_per_second": round((step1 - step0) / wall, 2),
        "click_to_panel_ms": round(clicks[len(clicks) // 2], 1), "click_to_panel_longest_ms": round(clicks[-1], 1),
        "stream_errors": bench["errors"], "dropped_viewers": status["dropped_viewers"],
        "resynced_viewers": status.get("resynced_viewers"), "page_errors": errors,
        "load_average_start": [round(x, 2) for x in load_before], "load_average_end": [round(x, 2) for x in load_after],
        **extra,
    }


TRACE_CATEGORIES = ["devtools.timeline", "v8", "v8.execute", "blink", "disabled-by-default-devtools.timeline",
                    "disabled-by-default-v8.gc"]


def long_tasks(path: Path, over_ms: float = 50.0) -> list[dict]:
    """The main thread's tasks over ``over_ms`` in a Chrome trace, each with the events inside it that
    took most of its time (by self time: GC, script by function, style, layout, paint...)."""
    events = json.loads(path.read_text())
    events = events["traceEvents"] if isinstance(events, dict) else events
    names = {(e["pid"], e["tid"]): e["args"]["name"] for e in events if e.get("ph") == "M" and e.get("name") == "thread_name"}
    main = {k for k, v in names.items() if v == "CrRendererMain"}
    spans = sorted((e for e in events if e.get("ph") == "X" and (e["pid"], e["tid"]) in main and "dur" in e), key=lambda e: (e["ts"], -e["dur"]))
    out = []
    for task in (e for e in spans if e["name"] in ("RunTask", "ThreadControllerImpl::RunTask") and e["dur"] > over_ms * 1000):
        end = task["ts"] + task["dur"]
        inner = [e for e in spans if e is not task and task["ts"] <= e["ts"] and e["ts"] + e["dur"] <= end
                 and e["name"] not in ("RunTask", "ThreadControllerImpl::RunTask")]
        selfs: dict[str, float] = {}
        stack: list[dict] = []
        for e in inner:  # self time: an event's duration less its children's
            while stack and stack[-1]["ts"] + stack[-1]["dur"] <= e["ts"]:
                stack.pop()
            if stack:
                parent = stack[-1]
                selfs[label(parent)] = selfs.get(label(parent), 0.0) - e["dur"]
            selfs[label(e)] = selfs.get(label(e), 0.0) + e["dur"]
            stack.append(e)
        top = sorted(selfs.items(), key=lambda kv: -kv[1])[:6]
        out.append({"ms": round(task["dur"] / 1000, 1), "top": [[k, round(v / 1000, 1)] for k, v in top]})
    return out


def label(e: dict) -> str:
    data = (e.get("args") or {}).get("data") or {}
    if e["name"] == "FunctionCall" and data.get("functionName") is not None:
        return f"FunctionCall {data.get('functionName') or '(anonymous)'} {Path(data.get('url', '')).name}:{data.get('lineNumber', '')}"
    if e["name"] == "EventDispatch" and data.get("type"):
        return f"EventDispatch {data['type']}"
    return e["name"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--banks", default="100,1000,10000")
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--modes", default="quiet,cascade")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "page.json")
    ap.add_argument("--shots", type=Path, default=ROOT / "docs" / "results")
    ap.add_argument("--trace", type=Path, default=None, help="record a Chrome trace of each window into this folder")
    ap.add_argument("--append", default=None, metavar="LABEL", help="add the runs, labelled, to the results file")
    args = ap.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as configs:
        cascade_configs(Path(configs))
        with serving("--max-banks", "10000", "--configs", configs) as (base, _):
            for n in [int(x) for x in args.banks.split(",")]:
                for mode in args.modes.split(","):
                    r = measure(base, n, args.seconds, args.shots, mode, args.trace)
                    print(json.dumps(r), flush=True)
                    results.append(r)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    if args.append is not None and args.out.exists():
        record = json.loads(args.out.read_text())
        record.setdefault("results", []).extend({"label": args.append, **r} for r in results)
    else:
        record = {"machine": f"{os.cpu_count()} cores", "results": results}
    args.out.write_text(json.dumps(record, indent=2) + "\n")


if __name__ == "__main__":
    main()

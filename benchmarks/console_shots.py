"""Screenshots of the console during a cascade at 100, 1,000 and 10,000 banks, for docs/console.md.

    PYTHONPATH=. .venv/bin/python benchmarks/console_shots.py [--banks 100,1000,10000] [--out docs/results]

The scenario is configs/stress.yaml (crashes, runs, leveraged banks on a tiered network) with two of its
largest banks losing 6x their capital at step 3, so that every size shows a cascade at the same
moment. For each size the page starts the session at 2 steps/s, pauses once a default is shown,
replays the largest cascade from the defaults log and takes the screenshot while it plays
(headless Debian Chromium, 1400x900): docs/results/console-cascade-<banks>.png, and from 1,000 banks
the aggregated view below the network: docs/results/console-groups-<banks>.png.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.interactive.conftest import serving  # noqa: E402

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]


def scenario(folder: Path) -> None:
    for p in (ROOT / "configs").glob("*.yaml"):
        shutil.copy(p, folder / p.name)
    cfg = yaml.safe_load((ROOT / "configs" / "stress.yaml").read_text())
    cfg["env"]["shocks"]["scheduled"] = [{"step": 3, "type": "capital_loss", "bank": 0, "size": 6.0},
                                         {"step": 3, "type": "capital_loss", "bank": 1, "size": 6.0}]
    (folder / "stress_cascade.yaml").write_text(yaml.safe_dump(cfg))


def shoot(base: str, banks: int, out: Path) -> Path:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=FLAGS, headless=True)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.goto(base + "/")
        page.wait_for_function("document.getElementById('policy').options.length > 0")
        page.select_option("#scenario", "stress_cascade")
        page.fill("#n-banks", str(banks))
        page.fill("#steps", "40")
        page.fill("#speed", "2")
        page.click("#start")
        page.wait_for_function("+document.getElementById('defaults').textContent > 0", timeout=600_000)
        page.click("#pause")
        page.wait_for_function("window.__ib.state === 'paused' && window.__ib.queue.length === 0", timeout=600_000)
        page.wait_for_function("document.querySelector('#log li.cascade button') !== null", timeout=600_000)
        page.click("#log li.cascade button")
        page.wait_for_function("window.__ib.focus && window.__ib.focus.edges !== null && window.__ib.basePainted === window.__ib.baseWanted", timeout=600_000)
        page.wait_for_timeout(900)  # the cascade half played: trigger -> first victims drawn
        out.mkdir(parents=True, exist_ok=True)
        path = out / f"console-cascade-{banks}.png"
        page.screenshot(path=str(path))
        if banks >= 1000:  # the aggregated view, below the network
            page.wait_for_function("!document.getElementById('groups').hidden && document.querySelectorAll('#groups-table tbody tr').length > 1")
            page.locator("#groups").screenshot(path=str(out / f"console-groups-{banks}.png"))
        sid = page.evaluate("window.__ib.session")
        page.request.post(base + "/api/interactive/control", data={"session_id": sid, "command": "stop"})
        browser.close()
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--banks", default="100,1000,10000")
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "results")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        scenario(Path(folder))
        with serving("--configs", folder, "--max-banks", "10000") as (base, _):
            for n in [int(x) for x in args.banks.split(",")]:
                print(shoot(base, n, args.out), flush=True)


if __name__ == "__main__":
    main()

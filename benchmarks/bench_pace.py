"""A session's pace at scale: steps per second a server session makes with one viewer reading its stream.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_pace.py [--banks 10000] [--speed 5] [--seconds 30]
        [--scenario stress] [--policy heuristic] [--no-viewer] [--serve "--store-compress 0"] [--out FILE]

A real ``interbank serve`` (its SQLite store on) is started; a session of --banks banks of --scenario is
started at --speed steps/s, and one viewer reads its SSE stream to the end as fast as it can (the
bytes are counted, not parsed: the page's parsing happens in the browser, see bench_page.py). The
session's step is sampled every second from ``/api/interactive/status`` for --seconds after a
warm-up of 3 steps; the pace is the median of the per-second step counts over sliding 5-second
windows, and the mean over the whole window beside it. Also: the server process's CPU seconds per
step (all its threads, and its four busiest threads: ``loop`` is the event loop; the stepping
thread is the busiest, the store's writer next), the bytes the viewer read per step, the
machine's load averages.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.interactive.conftest import serving  # noqa: E402


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def thread_cpu_seconds(pid: int) -> dict[int, float]:
    """CPU seconds of each thread of ``pid`` (by thread id)."""
    out = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # the thread ended meanwhile
            continue
        out[int(task.name)] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return out


def read_stream(base: str, sid: str, counter: dict) -> None:
    with httpx.stream("GET", f"{base}/api/interactive/stream/{sid}", timeout=None) as response:
        for chunk in response.iter_raw():
            counter["bytes"] += len(chunk)


def measure(base: str, pid: int, args: argparse.Namespace) -> dict:
    body = {"scenario": args.scenario, "n_banks": args.banks, "steps": args.steps, "speed": args.speed,
            "policy": args.policy, "seed": 0}
    started = httpx.post(base + "/api/interactive/start", json=body, timeout=600).json()
    sid = started["session_id"]
    counter = {"bytes": 0}
    if not args.no_viewer:
        threading.Thread(target=read_stream, args=(base, sid, counter), daemon=True).start()

    def step() -> int:
        return httpx.get(base + "/api/interactive/status", params={"session_id": sid}, timeout=60).json()["step"]

    while step() < 3:
        time.sleep(0.2)
    load0, cpu0, bytes0, threads0 = os.getloadavg(), cpu_seconds(pid), counter["bytes"], thread_cpu_seconds(pid)
    samples = [(time.perf_counter(), step())]
    while samples[-1][0] - samples[0][0] < args.seconds:
        time.sleep(1.0)
        samples.append((time.perf_counter(), step()))
    cpu1, bytes1, load1, threads1 = cpu_seconds(pid), counter["bytes"], os.getloadavg(), thread_cpu_seconds(pid)
    httpx.post(base + "/api/interactive/control", json={"session_id": sid, "command": "stop"}, timeout=60)
    rates = [(samples[k + 5][1] - samples[k][1]) / (samples[k + 5][0] - samples[k][0]) for k in range(len(samples) - 5)]
    steps = samples[-1][1] - samples[0][1]
    wall = samples[-1][0] - samples[0][0]
    # the busiest threads: the event loop (the process's main thread: HTTP, SSE writes), the
    # session's stepping thread, the store's writer
    per_thread = sorted(((("loop" if tid == pid else f"thread {tid}"), round((t - threads0.get(tid, 0.0)) / max(steps, 1), 3))
                         for tid, t in threads1.items()), key=lambda x: -x[1])[:4]
    return {
        "banks": args.banks, "scenario": args.scenario, "policy": args.policy, "asked_steps_per_second": args.speed,
        "viewer": not args.no_viewer, "seconds": round(wall, 1), "steps": steps,
        "median_steps_per_second": round(statistics.median(rates), 2) if rates else None,
        "mean_steps_per_second": round(steps / wall, 2),
        "server_cpu_seconds_per_step": round((cpu1 - cpu0) / max(steps, 1), 3),
        "busiest_threads_cpu_seconds_per_step": dict(per_thread),
        "viewer_bytes_per_step": int((bytes1 - bytes0) / max(steps, 1)),
        "load_average_start": [round(x, 2) for x in load0], "load_average_end": [round(x, 2) for x in load1],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--banks", type=int, default=10_000)
    ap.add_argument("--speed", type=float, default=5.0)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--steps", type=int, default=400)
    ap.add_argument("--scenario", default="stress")
    ap.add_argument("--policy", default="heuristic")
    ap.add_argument("--no-viewer", action="store_true")
    ap.add_argument("--label", default="")
    ap.add_argument("--serve", default="", help="more arguments for interbank serve, e.g. '--store-compress 0'")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    with serving("--max-banks", str(max(args.banks, 20)), *args.serve.split()) as (base, proc):
        result = {"label": args.label, "serve": args.serve, **measure(base, proc.pid, args)}
    print(json.dumps(result), flush=True)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        runs = json.loads(args.out.read_text())["runs"] if args.out.exists() else []
        args.out.write_text(json.dumps({"machine": f"{os.cpu_count()} cores", "runs": [*runs, result]}, indent=2) + "\n")


if __name__ == "__main__":
    main()

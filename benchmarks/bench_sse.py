"""SSE throughput and control latency of `interbank serve` (100 banks, 20 steps/s).

    .venv/bin/python benchmarks/bench_sse.py [--clients 1,50] [--steps 200]

For each viewer count: starts a real server process, starts a paused 100-bank session at
20 steps/s, connects the viewers, resumes, and measures events per second per viewer,
whether the session kept its pace (wall time vs steps / speed), and the time from a
`pause` POST to the `paused` event reaching a viewer. Writes benchmarks/results/sse.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def viewer(base: str, url: str, seen: list, marks: dict) -> None:
    """Counts events by their SSE `event:` lines (cheap enough for 50 viewers in one process)."""
    tail = b""
    async with httpx.AsyncClient(timeout=120) as client:
        async with client.stream("GET", base + url) as r:
            async for chunk in r.aiter_bytes():
                data = tail + chunk
                cut = data.rfind(b"\n")
                whole, tail = data[: cut + 1], data[cut + 1:]
                seen[0] += whole.count(b"\nevent: ")
                if b"event: paused" in whole and marks.get("armed"):
                    marks.setdefault("paused", time.perf_counter())
                if b"event: complete" in whole:
                    return


async def run(base: str, clients: int, steps: int, speed: float) -> dict:
    async with httpx.AsyncClient(timeout=60) as c:
        s = (await c.post(base + "/api/interactive/start", json={"n_banks": 100, "steps": steps, "speed": speed, "paused": True, "seed": 1})).json()
        seen = [[0] for _ in range(clients)]
        marks: dict = {}
        tasks = [asyncio.create_task(viewer(base, s["stream_url"], seen[k], marks)) for k in range(clients)]
        while (await c.get(base + "/api/interactive/status", params={"session_id": s["session_id"]})).json()["viewers"] < clients:
            await asyncio.sleep(0.05)
        t0 = time.perf_counter()
        await c.post(base + "/api/interactive/control", json={"session_id": s["session_id"], "command": "resume"})
        await asyncio.sleep(steps / speed / 2)
        marks["armed"] = True
        sent = time.perf_counter()
        await c.post(base + "/api/interactive/control", json={"session_id": s["session_id"], "command": "pause"})
        while "paused" not in marks:
            await asyncio.sleep(0.001)
        latency = marks["paused"] - sent
        await c.post(base + "/api/interactive/control", json={"session_id": s["session_id"], "command": "resume"})
        await asyncio.gather(*tasks)
        wall = time.perf_counter() - t0
        final = (await c.get(base + "/api/interactive/status", params={"session_id": s["session_id"]})).json()
    events = [x[0] for x in seen]
    return {
        "clients": clients, "banks": 100, "steps": steps, "speed": speed, "wall_s": wall,
        "expected_s": steps / speed, "events_per_viewer": min(events),
        "events_per_s_per_viewer": min(events) / wall, "events_per_s_total": sum(events) / wall,
        "pause_to_event_ms": latency * 1000, "dropped_viewers": final["dropped_viewers"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", default="1,50")
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--speed", type=float, default=20.0)
    args = parser.parse_args()
    rows = []
    for clients in (int(c) for c in args.clients.split(",")):
        port = free_port()
        proc = subprocess.Popen([sys.executable, "-m", "interbank.cli", "serve", "--port", str(port)], cwd=ROOT,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(100):
                try:
                    httpx.get(base + "/api/scenarios", timeout=1)
                    break
                except httpx.HTTPError:
                    time.sleep(0.1)
            rows.append(asyncio.run(run(base, clients, args.steps, args.speed)))
            print(json.dumps(rows[-1]))
        finally:
            proc.terminate()
            proc.wait()
    out = ROOT / "benchmarks" / "results" / "sse.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()

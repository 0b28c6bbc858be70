"""SSE throughput and control latency of `interbank serve` (100 banks, 20 steps/s).

    .venv/bin/python benchmarks/bench_sse.py [--clients 1,50] [--steps 200]

For each viewer count: starts a real server process, starts a paused 100-bank session at
20 steps/s, connects the viewers, resumes, and measures events per second per viewer,
whether the session kept its pace (wall time vs steps / speed), and the time from a
`pause` POST to the `paused` event reaching a viewer. Writes benchmarks/results/sse.json.

`--sharing` measures instead, in-process, how often viewers at the same position share one
write (one bytes object joined once for all of them): three fast viewers follow a 30-bank,
80-step session at full speed, and the share of their writes that were the very same object is
reported (benchmarks/results/sse_sharing.json). It depends on how the producer thread and the
event loop interleave, so it is a performance figure here, not a test.
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


def sharing(repeat: int = 5) -> dict:
    """How often three fast viewers of one session received the very same bytes object."""
    from interbank.config import resolve_env_config
    from interbank.interactive.runner import Runner
    from interbank.interactive.sessions import Session
    from interbank.policies import make_policy

    async def once() -> tuple[int, int]:
        runner = Runner(resolve_env_config(n_banks=30, max_steps=80), make_policy("heuristic", 1), 1)
        session = Session("bench", runner, 0, 10**9, window_bytes=60_000)
        fast = [session.follow(-1) for _ in range(3)]
        for stream in fast:
            await anext(stream)
        session.task = asyncio.get_running_loop().create_task(session.drive())
        shared = writes = 0
        while True:
            chunks = [await anext(stream, None) for stream in fast]
            if None in chunks:
                break
            writes += 1
            shared += chunks[0] is chunks[1] is chunks[2]
        for stream in fast:
            async for _ in stream:
                pass
        await session.task
        return shared, writes

    runs = [asyncio.run(once()) for _ in range(repeat)]
    return {"viewers": 3, "banks": 30, "steps": 80, "runs": [{"shared_writes": s, "writes": w} for s, w in runs],
            "median_shared_fraction": sorted(s / max(w, 1) for s, w in runs)[len(runs) // 2]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", default="1,50")
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--speed", type=float, default=20.0)
    parser.add_argument("--sharing", action="store_true", help="measure write sharing in-process instead")
    args = parser.parse_args()
    if args.sharing:
        sys.path.insert(0, str(ROOT))
        result = sharing()
        print(json.dumps(result))
        (ROOT / "benchmarks" / "results" / "sse_sharing.json").write_text(json.dumps(result, indent=2) + "\n")
        return
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

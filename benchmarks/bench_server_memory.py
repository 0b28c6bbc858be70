"""Server memory under load (issue 13): resident memory stays bounded, viewers keep up.

    .venv/bin/python benchmarks/bench_server_memory.py [--sessions 8] [--banks 500] [--steps 5000]
        [--viewers 1000] [--viewer-banks 100] [--viewer-steps 200] [--viewer-speed 5] [--parts sessions,body,viewers]

Starts a real `interbank serve` process (default limits, finished sessions evicted after
--ttl seconds) and samples its resident memory (VmRSS) every 0.25 s while:

- sessions: --sessions sessions of --banks banks and --steps steps at speed 0 (the issue's
  `{"n_banks": 500, "steps": 5000, "speed": 0, "policy": "hold"}`, 8 at once) run to
  completion; then the finished sessions are evicted. Reports peak RSS while they run,
  RSS when they are done and RSS after eviction. Targets: < 1 GB throughout, < 300 MB after.
- body: one 200 MB body with Transfer-Encoding: chunked. Reports the answer, how much of
  the body was sent before it, and RSS before and after.
- viewers: --viewers concurrent SSE viewers (raw sockets, spread over 4 client processes)
  on one --viewer-banks session at --viewer-speed steps/s. Reports events received per
  viewer, viewers that ended without `complete` (dropped), the server's dropped_viewers,
  and the session's pace (wall time vs steps / speed). Target: no healthy viewer dropped,
  pace within 10%.

Writes benchmarks/results/server_memory.json. Heavy: run it alone.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
MB = 1_000_000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


class Sampler(threading.Thread):
    """RSS of a process every 0.25 s; ``peak(since)`` and ``now()``."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.samples, self.running = pid, [], True

    def run(self) -> None:
        while self.running:
            try:
                self.samples.append((time.monotonic(), rss(self.pid)))
            except OSError:
                return
            time.sleep(0.25)

    def peak(self, since: float) -> int:
        return max((v for t, v in self.samples if t >= since), default=0)

    def now(self) -> int:
        return rss(self.pid)


def start_server(ttl: float) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "interbank.cli", "serve", "--port", str(port), "--finished-ttl", str(ttl)],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            httpx.get(base + "/api/checkpoints", timeout=2)
            return proc, base
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("the server did not start")


def wait_all(base: str, ids: list[str], state: tuple[str, ...] = ("complete", "stopped"), timeout: float = 7200,
             poll: float = 1.0) -> None:
    end = time.time() + timeout
    while time.time() < end:
        sessions = {s["session_id"]: s for s in httpx.get(base + "/api/interactive/sessions", timeout=60).json()["sessions"]}
        if all(sessions.get(i, {}).get("state") in state for i in ids):
            return
        time.sleep(poll)
    raise RuntimeError("timed out")


# ------------------------------------------------------------------ parts
def part_sessions(base: str, sampler: Sampler, n: int, banks: int, steps: int, ttl: float) -> dict:
    before = sampler.now()
    t0 = time.monotonic()
    ids = []
    for _ in range(n):
        r = httpx.post(base + "/api/interactive/start", json={"n_banks": banks, "steps": steps, "speed": 0, "policy": "hold"},
                       timeout=120)
        r.raise_for_status()
        ids.append(r.json()["session_id"])
    wait_all(base, ids)
    done = time.monotonic()
    at_end = sampler.now()
    peak = sampler.peak(t0)
    # the finished sessions go after the TTL
    end = time.time() + ttl + 120
    while time.time() < end and httpx.get(base + "/api/interactive/sessions", timeout=60).json()["sessions"]:
        time.sleep(0.5)
    time.sleep(1.0)
    return {"sessions": n, "banks": banks, "steps": steps, "seconds": round(done - t0, 1),
            "rss_before_mb": round(before / MB), "rss_peak_mb": round(peak / MB), "rss_done_mb": round(at_end / MB),
            "rss_after_eviction_mb": round(sampler.now() / MB)}


def part_body(base: str, sampler: Sampler, size: int = 200 * MB) -> dict:
    import select

    before = sampler.now()
    t0 = time.monotonic()
    host, port = base.removeprefix("http://").split(":")
    sent = 0
    with socket.create_connection((host, int(port)), timeout=120) as sock:
        sock.sendall(f"POST /api/interactive/control HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
                     "Transfer-Encoding: chunked\r\n\r\n".encode())
        chunk = b"%x\r\n%s\r\n" % (1 << 16, b" " * (1 << 16))
        while sent < size:
            if select.select([sock], [], [], 0)[0]:
                break
            try:
                sock.sendall(chunk)
            except OSError:
                break
            sent += 1 << 16
        answer = sock.recv(65536).split(b"\r\n", 1)[0].decode()
    return {"body_mb": size // MB, "answer": answer, "sent_before_answer_mb": round(sent / MB, 1),
            "seconds": round(time.monotonic() - t0, 2), "rss_before_mb": round(before / MB),
            "rss_peak_mb": round(max(sampler.peak(t0), sampler.now()) / MB), "rss_after_mb": round(sampler.now() / MB)}


async def _viewers(host: str, port: int, path: str, count: int, out: mp.Queue) -> None:
    async def one() -> tuple[int, bool]:
        reader, writer = await asyncio.open_connection(host, port, limit=1 << 20)
        writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nAccept: text/event-stream\r\n\r\n".encode())
        await writer.drain()
        events, tail, complete = 0, b"", False
        while True:
            data = await reader.read(1 << 16)
            if not data:
                break
            data = tail + data
            events += data.count(b"\r\nevent: ")
            tail = data[-32:]
            events -= tail.count(b"\r\nevent: ")
            if b"event: complete" in data:
                complete = True
                break
        events += tail.count(b"\r\nevent: ")
        writer.close()
        return events, complete

    results = await asyncio.gather(*(one() for _ in range(count)), return_exceptions=True)
    out.put([r if isinstance(r, tuple) else (0, False) for r in results])


def _viewer_process(host: str, port: int, path: str, count: int, out: mp.Queue) -> None:
    asyncio.run(_viewers(host, port, path, count, out))


def part_viewers(base: str, sampler: Sampler, viewers: int, banks: int, steps: int, speed: float) -> dict:
    r = httpx.post(base + "/api/interactive/start", json={"n_banks": banks, "steps": steps, "speed": speed, "paused": True,
                                                           "policy": "heuristic"}, timeout=60)
    r.raise_for_status()
    sid = r.json()["session_id"]
    host, port = base.removeprefix("http://").split(":")
    out: mp.Queue = mp.Queue()
    procs = [mp.Process(target=_viewer_process, args=(host, int(port), f"/api/interactive/stream/{sid}", viewers // 4, out))
             for _ in range(4)]
    for p in procs:
        p.start()
    status = {}
    end = time.time() + 300
    while time.time() < end:
        status = httpx.get(base + "/api/interactive/status", params={"session_id": sid}, timeout=60).json()
        if status["viewers"] >= viewers // 4 * 4:
            break
        time.sleep(0.5)
    connected = status["viewers"]
    t0 = time.monotonic()
    httpx.post(base + "/api/interactive/control", json={"session_id": sid, "command": "resume"}, timeout=60)
    wait_all(base, [sid], poll=0.1)
    wall = time.monotonic() - t0
    results = [r for _ in procs for r in out.get(timeout=600)]
    for p in procs:
        p.join(timeout=60)
    final = httpx.get(base + "/api/interactive/status", params={"session_id": sid}, timeout=60).json()
    counts = [e for e, _ in results]
    expected = final["last_seq"] + 1
    return {"viewers": len(results), "connected_before_resume": connected, "banks": banks, "steps": steps,
            "speed": speed, "events_in_stream": expected, "events_per_viewer_median": statistics.median(counts),
            "viewers_with_every_event": sum(c == expected for c in counts),
            "viewers_without_complete": sum(not done for _, done in results),
            "server_dropped_viewers": final["dropped_viewers"], "wall_s": round(wall, 2),
            "pace_s": round(steps / speed, 2), "pace_ratio": round(wall / (steps / speed), 3),
            "rss_peak_mb": round(sampler.peak(t0) / MB)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", type=int, default=8)
    ap.add_argument("--banks", type=int, default=500)
    ap.add_argument("--steps", type=int, default=5000)
    ap.add_argument("--viewers", type=int, default=1000)
    ap.add_argument("--viewer-banks", type=int, default=100)
    ap.add_argument("--viewer-steps", type=int, default=200)
    ap.add_argument("--viewer-speed", type=float, default=5.0)
    ap.add_argument("--ttl", type=float, default=10.0, help="serve --finished-ttl")
    ap.add_argument("--parts", default="sessions,body,viewers")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/server_memory.json")
    args = ap.parse_args()
    parts = args.parts.split(",")
    proc, base = start_server(args.ttl)
    sampler = Sampler(proc.pid)
    sampler.start()
    result: dict = {"rss_idle_mb": round(sampler.now() / MB)}
    try:
        if "sessions" in parts:
            result["sessions"] = part_sessions(base, sampler, args.sessions, args.banks, args.steps, args.ttl)
            print(json.dumps(result["sessions"]), flush=True)
        if "body" in parts:
            result["body"] = part_body(base, sampler)
            print(json.dumps(result["body"]), flush=True)
        if "viewers" in parts:
            result["viewers"] = part_viewers(base, sampler, args.viewers, args.viewer_banks, args.viewer_steps,
                                             args.viewer_speed)
            print(json.dumps(result["viewers"]), flush=True)
        result["rss_peak_overall_mb"] = round(sampler.peak(0) / MB)
    finally:
        sampler.running = False
        proc.terminate()
        proc.wait(timeout=60)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

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

Writes benchmarks/results/server_memory.json (a run of some --parts updates those). Heavy: run it alone.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
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


MARK, DONE = b"\r\nevent: ", b"\r\nevent: complete"


class _Counter(asyncio.Protocol):
    """One viewer as a raw protocol: counts events as the bytes arrive (one pass, no copies beyond
    a few bytes at chunk boundaries), so that 1,000 of them cost the shared machine little."""

    def __init__(self, request: bytes, done: asyncio.Future) -> None:
        self.request, self.done = request, done
        self.events, self.complete, self.tail, self.transport = 0, False, b"", None

    def connection_made(self, transport) -> None:
        self.transport = transport
        transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        edge = self.tail + data[:len(DONE)]
        self.events += data.count(MARK) + edge.count(MARK) - self.tail.count(MARK) - data[:len(DONE)].count(MARK)
        if DONE in data or DONE in edge:
            self.complete = True
            self.transport.close()
        self.tail = data[-len(DONE):]

    def connection_lost(self, exc) -> None:
        if not self.done.done():
            self.done.set_result((self.events, self.complete, time.monotonic()))


async def _viewers(host: str, port: int, path: str, count: int, out: mp.Queue) -> None:
    loop = asyncio.get_running_loop()
    request = f"GET {path} HTTP/1.1\r\nHost: {host}\r\nAccept: text/event-stream\r\n\r\n".encode()

    async def one() -> tuple[int, bool, float]:
        done = loop.create_future()
        await loop.create_connection(lambda: _Counter(request, done), host, port)
        return await done

    results = await asyncio.gather(*(one() for _ in range(count)), return_exceptions=True)
    out.put([r if isinstance(r, tuple) else (0, False, 0.0) for r in results])


def _viewer_process(host: str, port: int, path: str, count: int, out: mp.Queue) -> None:
    asyncio.run(_viewers(host, port, path, count, out))


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs so far (/proc/stat)."""
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


def run_session(base: str, banks: int, steps: int, speed: float, viewers: int, pid: int) -> dict:
    """One paused session of ``banks`` banks watched by ``viewers`` viewers (raw sockets over 4 client
    processes), resumed once they are all connected; its pace, what each viewer got, the load."""
    r = httpx.post(base + "/api/interactive/start", json={"n_banks": banks, "steps": steps, "speed": speed, "paused": True,
                                                           "policy": "heuristic"}, timeout=60)
    r.raise_for_status()
    sid = r.json()["session_id"]
    host, port = base.removeprefix("http://").split(":")
    out: mp.Queue = mp.Queue()
    procs = [mp.Process(target=_viewer_process, args=(host, int(port), f"/api/interactive/stream/{sid}", viewers // 4, out))
             for _ in range(4 if viewers else 0)]
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
    cpu0, busy0, load0 = cpu_seconds(pid), machine_busy(), os.getloadavg()[0]
    t0 = time.monotonic()
    httpx.post(base + "/api/interactive/control", json={"session_id": sid, "command": "resume"}, timeout=60)
    wait_all(base, [sid], poll=0.05)
    t1 = time.monotonic()
    cpu1, busy1 = cpu_seconds(pid), machine_busy()
    results = [r for _ in procs for r in out.get(timeout=600)]
    for p in procs:
        p.join(timeout=60)
    final = httpx.get(base + "/api/interactive/status", params={"session_id": sid}, timeout=60).json()
    return {"sid": sid, "wall": t1 - t0, "end": t1, "results": results, "final": final, "connected": connected,
            "server_cpu_s": cpu1 - cpu0, "machine_busy": (busy1[0] - busy0[0]) / max(1, busy1[1] - busy0[1]),
            "load_1min_before": load0, "load_1min_after": os.getloadavg()[0]}


def part_viewers(base: str, sampler: Sampler, viewers: int, banks: int, steps: int, speed: float) -> dict:
    pace = steps / speed
    alone = run_session(base, banks, steps, speed, 0, sampler.pid)  # the same session with no viewer: the baseline
    t0 = time.monotonic()
    run = run_session(base, banks, steps, speed, viewers, sampler.pid)
    results, final = run["results"], run["final"]
    counts = [e for e, _, _ in results]
    expected = final["last_seq"] + 1
    lags = [at - run["end"] for _, done, at in results if done]
    return {"viewers": len(results), "connected_before_resume": run["connected"], "banks": banks, "steps": steps,
            "speed": speed, "events_in_stream": expected, "events_per_viewer_median": statistics.median(counts),
            "viewers_with_every_event": sum(c == expected for c in counts),
            "viewers_without_complete": sum(not done for _, done, _ in results),
            "server_dropped_viewers": final["dropped_viewers"], "server_resynced_viewers": final["resynced_viewers"],
            "pace_s": round(pace, 2), "wall_s": round(run["wall"], 2), "pace_ratio": round(run["wall"] / pace, 3),
            "alone_wall_s": round(alone["wall"], 2), "alone_pace_ratio": round(alone["wall"] / pace, 3),
            "ratio_to_alone": round(run["wall"] / alone["wall"], 3),
            "last_viewer_complete_after_session_s": round(max(lags, default=float("nan")), 2),
            "median_viewer_complete_after_session_s": round(statistics.median(lags), 2) if lags else None,
            "server_cpu_s": round(run["server_cpu_s"], 1), "alone_server_cpu_s": round(alone["server_cpu_s"], 1),
            "machine_busy_fraction": round(run["machine_busy"], 3),
            "alone_machine_busy_fraction": round(alone["machine_busy"], 3),
            "load_1min_before": round(run["load_1min_before"], 2), "load_1min_after": round(run["load_1min_after"], 2),
            "cpus": os.cpu_count(), "rss_peak_mb": round(sampler.peak(t0) / MB)}


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
    if set(parts) != {"sessions", "body", "viewers"} and args.out.exists():  # a partial run updates its parts only
        result = {**json.loads(args.out.read_text()), **{k: v for k, v in result.items() if k in parts}}
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

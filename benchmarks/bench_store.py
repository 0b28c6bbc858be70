"""What the session store costs a session: steps per second with and without it.

    .venv/bin/python benchmarks/bench_store.py [--banks 1000] [--steps 80] [--repeat 5] [--policy heuristic]

Runs server sessions in-process (``SessionStore``, the class ``interbank serve`` uses: a producer
thread steps the runner as fast as it can, speed 0, and publishes each step's events) of --banks
banks on the default scenario, in four modes, interleaved (A B C D, B C D A, ...) so that a
machine busy with other work slows each mode alike:

- ``none``: no store and no spill (the events only go to the in-memory window);
- ``spill``: no store, the temporary JSONL spill (``interbank serve --no-store``);
- ``store``: the SQLite store (``interbank serve``'s default): a chunk per step, compressed
  (zlib level 1) and committed by the store's writer thread;
- ``store-raw``: the same, chunks stored uncompressed (``--store-compress 0``).

Each run times --steps steps after the first (the runner is built before the clock starts) and,
for the store, also waits until everything is committed (the figure includes the writer's lag).
Also reports the process's CPU time per step (every thread: the store's writer included), a
figure a machine shared with other work disturbs less than wall time. Reports each mode's
median steps/s and the store's cost against ``none`` and ``spill`` (target: at most 10%).
Writes benchmarks/results/store.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from interbank.config import resolve_env_config
from interbank.interactive.runner import Runner
from interbank.interactive.sessions import SessionStore
from interbank.interactive.store import Store
from interbank.policies import make_policy

OUT = Path(__file__).parent / "results" / "store.json"


async def one_run(mode: str, banks: int, steps: int, policy: str, folder: Path) -> dict:
    db = Store(folder / "data", level=0 if mode == "store-raw" else 1) if mode.startswith("store") else None
    store = SessionStore(4, None, window_bytes=8_000_000, spill_bytes=256_000_000 if mode == "spill" else 0,
                         spill_dir=folder / "spill" if mode == "spill" else None, db=db)
    runner = Runner(resolve_env_config(n_banks=banks, max_steps=steps + 10), make_policy(policy, 0), 0)
    runner.command("pause")
    session = store.add(runner, 0, 2000)
    await asyncio.sleep(0)
    await session.command("resume")
    while session.status()["step"] < 1:
        await asyncio.sleep(0.001)
    t0, c0, s0 = time.perf_counter(), time.process_time(), session.status()["step"]
    while session.status()["step"] < s0 + steps:
        await asyncio.sleep(0.002)
    t1 = time.perf_counter()
    await session.command("pause")
    if db is not None:
        await asyncio.to_thread(db.wait, session.id, session.last_seq, 600)
    t2, c2 = time.perf_counter(), time.process_time()
    out = {"mode": mode, "steps_per_s": round(steps / (t1 - t0), 2), "steps_per_s_committed": round(steps / (t2 - t0), 2),
           "cpu_ms_per_step": round(1000 * (c2 - c0) / steps, 1), "events": session.last_seq + 1}
    if db is not None:
        record = db.session(session.id)
        out.update(stored_mb=round(record.bytes / 1e6, 2), jsonl_mb=round(record.raw_bytes / 1e6, 2),
                   transactions=db.transactions, writer_cpu_ms_per_step=round(1000 * db.cpu_seconds / steps, 1))
    await store.close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--banks", type=int, default=1000)
    ap.add_argument("--steps", type=int, default=80)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--policy", default="heuristic")
    args = ap.parse_args()
    modes = ("none", "spill", "store", "store-raw")
    runs: dict[str, list[dict]] = {m: [] for m in modes}
    for rep in range(args.repeat):
        for mode in modes[rep % len(modes):] + modes[:rep % len(modes)]:  # each mode first in turn
            folder = Path(tempfile.mkdtemp(prefix="bench-store-"))
            try:
                r = asyncio.run(one_run(mode, args.banks, args.steps, args.policy, folder))
            finally:
                shutil.rmtree(folder, ignore_errors=True)
            runs[mode].append(r)
            print(rep, r, flush=True)
    med = {m: statistics.median(r["steps_per_s_committed" if m.startswith("store") else "steps_per_s"] for r in runs[m])
           for m in modes}
    result = {
        "banks": args.banks, "steps": args.steps, "repeat": args.repeat, "policy": args.policy, "scenario": "default",
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "load_before": os.getloadavg()},
        "median_steps_per_s": med,
        "store_cost_vs_none": round(1 - med["store"] / med["none"], 3),
        "store_cost_vs_spill": round(1 - med["store"] / med["spill"], 3),
        "median_cpu_ms_per_step": (cpu := {m: statistics.median(r["cpu_ms_per_step"] for r in runs[m]) for m in modes}),
        "store_cpu_cost_vs_none": round(cpu["store"] / cpu["none"] - 1, 3),
        "store_raw_cost_vs_none": round(1 - med["store-raw"] / med["none"], 3),
        # each repetition runs the modes back to back: the cost against the run just before is less
        # disturbed by the machine's load changing over the benchmark
        "paired_store_cost_vs_none_median": round(statistics.median(
            1 - s["steps_per_s_committed"] / n["steps_per_s"] for n, s in zip(runs["none"], runs["store"])), 3),
        "paired_store_raw_cost_vs_none_median": round(statistics.median(
            1 - s["steps_per_s_committed"] / n["steps_per_s"] for n, s in zip(runs["none"], runs["store-raw"])), 3),
        "writer_cpu_ms_per_step": {m: statistics.median(r["writer_cpu_ms_per_step"] for r in runs[m]) for m in ("store", "store-raw")},
        "store_raw_cpu_cost_vs_none": round(cpu["store-raw"] / cpu["none"] - 1, 3),
        "stored_mb_per_step": round(statistics.median(r["stored_mb"] for r in runs["store"]) / args.steps, 3),
        "jsonl_mb_per_step": round(statistics.median(r["jsonl_mb"] for r in runs["store"]) / args.steps, 3),
        "runs": runs,
        "note": "store figures include the wait until the last step is committed",
    }
    OUT.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "runs"}, indent=2))


if __name__ == "__main__":
    main()

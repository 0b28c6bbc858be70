"""RLlib backend training throughput (bank-decisions per second) with 1 and 2 env runners.

    .venv/bin/python benchmarks/bench_rllib.py [--banks 100,1000] [--runners 1,2] [--iterations 3]

Local Ray instance on this machine, configs/train/default.yaml's env at each size, one env copy
per runner presented to RLlib as a vector env of single-bank slots, PPO with a batch of
max(20,000, 100 x banks) bank-decisions per iteration (a full episode of every slot at 1,000
banks), minibatches of 4,000 and 4 epochs (the SB3 default config's), one torch thread for the
learner. The first iteration (start-up) is not timed; the figure is the median over the timed
iterations of live bank-decisions sampled / wall time of the iteration (sampling + learning).
Writes benchmarks/results/rllib.json (with the SB3 figure of benchmarks/results/train.json at
100 banks for the per-runner ratio). Compare with benchmarks/bench_train.py (SB3).
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np
import yaml

from interbank.train.config import parse_train_config
from interbank.train.rllib_backend import _algo_config, agent_steps_sampled, connect
from interbank.train.run import one_torch_thread_on_cpu

ROOT = Path(__file__).resolve().parents[1]


def one(banks: int, runners: int, iterations: int) -> dict:
    base = yaml.safe_load((ROOT / "configs/train/default.yaml").read_text())
    base["env"]["n_banks"] = banks
    batch = max(20_000, 100 * banks)
    base["rllib"] = {"num_env_runners": runners, "train_batch_size": batch, "minibatch_size": 4000, "num_epochs": 4}
    cfg = parse_train_config(base, "bench")
    ray = connect(None, num_cpus=max(2, runners + 1))
    one_torch_thread_on_cpu("cpu")
    algo = _algo_config(cfg, runners, 0.0).build_algo()
    try:
        before = agent_steps_sampled(algo.train())
        rates = []
        for _ in range(iterations):
            t0 = time.perf_counter()
            after = agent_steps_sampled(algo.train())
            rates.append((after - before) / (time.perf_counter() - t0))
            before = after
        median = float(np.median(rates))
        return {"banks": banks, "env_runners": runners, "batch_decisions": batch, "decisions_per_s": median,
                "decisions_per_s_per_runner": median / runners, "iterations": rates}
    finally:
        algo.stop()
        ray.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--banks", default="100,1000")
    parser.add_argument("--runners", default="1,2")
    parser.add_argument("--iterations", type=int, default=3)
    parser.add_argument("--note", default="", help="recorded with the results (e.g. whether the machine was shared)")
    args = parser.parse_args()
    rows = []
    for banks in (int(b) for b in args.banks.split(",")):
        for runners in (int(r) for r in args.runners.split(",")):
            rows.append(one(banks, runners, args.iterations))
            print(json.dumps(rows[-1]), flush=True)
    sb3 = None
    train = ROOT / "benchmarks" / "results" / "train.json"
    if train.is_file():
        data = json.loads(train.read_text())
        sb3 = next((r["decisions_per_s_median"] for r in data.get("interbank", []) if r["banks"] == 100), None)
    out = ROOT / "benchmarks" / "results" / "rllib.json"
    out.write_text(json.dumps({
        "machine": f"{platform.node()} ({platform.processor() or platform.machine()}), 2 cores", "note": args.note,
        "sb3_decisions_per_s_at_100_banks": sb3,
        "rows": [{**r, "per_runner_vs_sb3": (r["decisions_per_s_per_runner"] / sb3) if sb3 else None} for r in rows],
    }, indent=2) + "\n")


if __name__ == "__main__":
    main()

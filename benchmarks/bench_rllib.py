"""RLlib backend training throughput (bank-decisions per second) with 1 and 2 env runners.

    .venv/bin/python benchmarks/bench_rllib.py [--banks 100,1000] [--iterations 3]

Local Ray instance on this machine, configs/train/default.yaml's env at each size, PPO with
a 4,000-decision batch per iteration (converted to env steps by the backend); the first
iteration (start-up) is not timed.
Writes benchmarks/results/rllib.json. Compare with benchmarks/bench_train.py (SB3).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import yaml

from interbank.train.config import parse_train_config
from interbank.train.rllib_backend import _algo_config, agent_steps_sampled, connect

ROOT = Path(__file__).resolve().parents[1]


def one(banks: int, runners: int, iterations: int) -> float:
    base = yaml.safe_load((ROOT / "configs/train/default.yaml").read_text())
    base["env"]["n_banks"] = banks
    base["rllib"] = {"num_env_runners": runners, "train_batch_size": 4000, "minibatch_size": 1000, "num_epochs": 4}
    cfg = parse_train_config(base, "bench")
    ray = connect(None, num_cpus=max(2, runners + 1))
    algo = _algo_config(cfg, runners, 0.0).build_algo()
    try:
        first = algo.train()
        before = agent_steps_sampled(first)
        t0 = time.perf_counter()
        for _ in range(iterations):
            r = algo.train()
        return (agent_steps_sampled(r) - before) / (time.perf_counter() - t0)
    finally:
        algo.stop()
        ray.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--banks", default="100,1000")
    parser.add_argument("--runners", default="1,2")
    parser.add_argument("--iterations", type=int, default=3)
    args = parser.parse_args()
    rows = []
    for banks in (int(b) for b in args.banks.split(",")):
        for runners in (int(r) for r in args.runners.split(",")):
            rows.append({"banks": banks, "env_runners": runners, "decisions_per_s": one(banks, runners, args.iterations)})
            print(json.dumps(rows[-1]), flush=True)
    out = ROOT / "benchmarks" / "results" / "rllib.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()

"""Training throughput (bank-decisions per second, end to end) with 20 and 100 banks.

    .venv/bin/python benchmarks/bench_train.py [--timesteps 100000] [--repeat 3]

Trains MaskablePPO with the stress scenario's env at each size (configs/train/default.yaml's
learner settings) into a temporary folder and times ``interbank.train.run.train``.
Writes benchmarks/results/train.json.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

from interbank.train.run import train

ROOT = Path(__file__).resolve().parents[1]


def one(banks: int, timesteps: int, seed: int) -> float:
    base = yaml.safe_load((ROOT / "configs/train/default.yaml").read_text())
    base["env"]["n_banks"] = banks
    base["train"].update({"total_timesteps": timesteps, "checkpoint_every": 10**9, "seed": seed, "device": "cpu"})
    with tempfile.TemporaryDirectory() as tmp:
        cfg = Path(tmp) / "c.yaml"
        cfg.write_text(yaml.safe_dump(base))
        t0 = time.perf_counter()
        result = train(cfg, Path(tmp) / "run", progress=False, command="bench")
        return result.timesteps / (time.perf_counter() - t0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--banks", default="20,100")
    parser.add_argument("--timesteps", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rows = []
    for banks in (int(b) for b in args.banks.split(",")):
        runs = [one(banks, args.timesteps, s) for s in range(args.repeat)]
        rows.append({"banks": banks, "timesteps": args.timesteps, "decisions_per_s_median": float(np.median(runs)), "runs": runs})
        print(json.dumps(rows[-1]))
    out = ROOT / "benchmarks" / "results" / "train.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()

"""What stepping the training copies as one array would buy: the env step of K copies of n banks,
one after the other (what ``interbank train`` does today), against one system of K x n banks.

    .venv/bin/python benchmarks/bench_copies.py [--banks 20] [--copies 16] [--episodes 10] [--repeat 3]

Both run ``InterbankEnv.step_batch`` on the default training scenario (configs/train/default.yaml's
env, the stress economics) with random valid actions (drawn outside the timed region). A
system of K x n banks is one economy (one market, one funding market), not K, so this is no
substitute and no measurement of a batched core (none is built): it shows where the training
env's time goes. At 20 banks the step is almost all fixed cost (numpy calls and Python), paid
once per copy; a core that stepped K economies with per-copy prices, rates and funding markets
in one pass of array operations would pay it about once, plus the per-copy bookkeeping the
K x n system does not need. Medians of ``--repeat`` runs; writes benchmarks/results/copies.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np

from interbank.config import resolve_env_config
from interbank.envs import parallel_env

ROOT = Path(__file__).resolve().parents[1]


def step_us(banks: int, episodes: int, seed: int = 0) -> float:
    """Microseconds per ``step_batch`` of one env of ``banks`` banks (median episode)."""
    env = parallel_env(resolve_env_config(ROOT / "configs/train/default.yaml", n_banks=banks))
    rng = np.random.default_rng(seed)
    per_episode = []
    for ep in range(episodes):
        env.reset(seed=seed + ep)
        elapsed, steps = 0.0, 0
        while not env.system.done:
            mask = env.action_mask_array().astype(bool)
            actions = np.argmax(rng.random(mask.shape) * mask, axis=1)
            t0 = time.perf_counter()
            env.step_batch(actions)
            elapsed += time.perf_counter() - t0
            steps += 1
        per_episode.append(elapsed / steps * 1e6)
    return statistics.median(per_episode)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--banks", type=int, default=20)
    parser.add_argument("--copies", type=int, default=16, help="env copies per rollout step (train.n_envs)")
    parser.add_argument("--episodes", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "copies.json")
    args = parser.parse_args()
    one, big = [], []
    for r in range(args.repeat):  # interleaved, so that a busy spell hits both
        one.append(step_us(args.banks, args.episodes, seed=r))
        big.append(step_us(args.banks * args.copies, max(1, args.episodes // 2), seed=r))
    copies_us = args.copies * statistics.median(one)
    merged_us = statistics.median(big)
    result = {
        "banks": args.banks, "copies": args.copies, "episodes": args.episodes, "repeat": args.repeat,
        "one_copy_step_us": one, "one_system_of_all_banks_step_us": big,
        "copies_one_after_the_other_us": copies_us, "one_system_us": merged_us,
        "saving_factor": copies_us / merged_us,
        "note": "K copies stepped one after the other against one economy of K x n banks: where the training env's "
                "time goes (fixed cost per copy), not a measurement of a batched core (none is built)",
    }
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"{args.copies} copies of {args.banks} banks one after the other: {copies_us / 1000:.2f} ms a rollout step; "
          f"one system of {args.banks * args.copies} banks: {merged_us / 1000:.2f} ms ({copies_us / merged_us:.1f}x less)")


if __name__ == "__main__":
    main()

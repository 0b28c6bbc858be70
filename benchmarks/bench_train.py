"""Training throughput (bank-decisions per second, end to end) at 20 and 100 banks, and
stable-baselines3's own PPO on CartPole-v1 with 8 envs in the same run, for the ratio.

    .venv/bin/python benchmarks/bench_train.py [--timesteps 100000] [--cartpole-timesteps 50000] [--repeat 3]

Trains MaskablePPO with configs/train/default.yaml (stress scenario env, its learner settings)
at each size into a temporary folder and times ``interbank.train.run.train``; then SB3's PPO
with its default settings on ``make_vec_env("CartPole-v1", n_envs=8)`` for the same wall-clock
conditions (repeats are interleaved, so a busy spell hits both), with one torch thread as
interbank trains on CPU (``--cartpole-threads 0`` for torch's default: on this busy 2-core
machine that ran at 62 steps/s against 1,453 with one thread, so one thread is SB3's better case). Medians over repeats; the ratio
is interbank at 100 banks / CartPole, each median, and the median of the per-repeat ratios.
Writes benchmarks/results/train.json.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import yaml

from interbank.train.run import train

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_THREADS = torch.get_num_threads()  # torch default, read before interbank training sets one thread


def interbank(banks: int, timesteps: int, seed: int) -> float:
    base = yaml.safe_load((ROOT / "configs/train/default.yaml").read_text())
    base["env"]["n_banks"] = banks
    base["train"].update({"total_timesteps": timesteps, "checkpoint_every": 10**9, "seed": seed, "device": "cpu"})
    with tempfile.TemporaryDirectory() as tmp:
        cfg = Path(tmp) / "c.yaml"
        cfg.write_text(yaml.safe_dump(base))
        t0 = time.perf_counter()
        result = train(cfg, Path(tmp) / "run", progress=False, command="bench")
        return result.timesteps / (time.perf_counter() - t0)


def cartpole(timesteps: int, seed: int, threads: int | None) -> float:
    """SB3's PPO, default settings, on 8 CartPole-v1 envs; ``threads``: torch threads (None: torch's default)."""
    from stable_baselines3 import PPO
    from stable_baselines3.common.env_util import make_vec_env

    before = torch.get_num_threads()
    torch.set_num_threads(threads or DEFAULT_THREADS)
    t0 = time.perf_counter()
    model = PPO("MlpPolicy", make_vec_env("CartPole-v1", n_envs=8, seed=seed), seed=seed, device="cpu", verbose=0)
    model.learn(total_timesteps=timesteps)
    rate = model.num_timesteps / (time.perf_counter() - t0)
    torch.set_num_threads(before)
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--banks", default="20,100")
    parser.add_argument("--timesteps", type=int, default=100_000)
    parser.add_argument("--cartpole-timesteps", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--cartpole-threads", type=int, default=1,
                        help="torch threads for SB3's CartPole run (default 1, as interbank trains; 0: torch's default)")
    parser.add_argument("--note", default="", help="recorded with the results (e.g. whether the machine was shared)")
    args = parser.parse_args()
    sizes = [int(b) for b in args.banks.split(",")]
    runs: dict[int, list[float]] = {b: [] for b in sizes}
    cart: list[float] = []
    for seed in range(args.repeat):
        for banks in sizes:
            runs[banks].append(interbank(banks, args.timesteps, seed))
        cart.append(cartpole(args.cartpole_timesteps, seed, args.cartpole_threads or None))
        print(json.dumps({"repeat": seed, **{f"interbank_{b}": runs[b][-1] for b in sizes}, "cartpole": cart[-1]}), flush=True)
    rows = [{"banks": b, "timesteps": args.timesteps, "decisions_per_s_median": float(np.median(runs[b])), "runs": runs[b]}
            for b in sizes]
    result = {
        "note": args.note,
        "interbank": rows,
        "sb3_ppo_cartpole_8_envs": {"timesteps": args.cartpole_timesteps, "torch_threads": args.cartpole_threads or DEFAULT_THREADS,
                                    "steps_per_s_median": float(np.median(cart)), "runs": cart},
    }
    if 100 in runs:
        result["ratio_100_banks_to_cartpole"] = float(np.median(runs[100]) / np.median(cart))
        result["ratio_per_repeat_median"] = float(np.median(np.array(runs[100]) / np.array(cart)))
    print(json.dumps({k: v for k, v in result.items() if k.startswith("ratio")}))
    out = ROOT / "benchmarks" / "results" / "train.json"
    out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()

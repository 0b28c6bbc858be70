"""Training throughput (bank-decisions per second) at 20 and 100 banks, the warm start and PPO
timed apart, the cost of the opponent pool and of the central critic, and stable-baselines3's
own PPO on CartPole-v1 with 8 envs in the same run, for the ratio.

    .venv/bin/python benchmarks/bench_train.py [--timesteps 100000] [--cartpole-timesteps 50000] [--repeat 3]

Trains MaskablePPO with configs/train/default.yaml (stress scenario env, its learner settings)
at each size into a temporary folder, in four variants:

- ``default``: the config as it is; its warm start (``warm_start_s``: collecting the rule's
  decisions and cloning it) and PPO (``ppo_s``) are timed apart inside ``train``;
- ``ppo``: the warm start removed (``train.warm_start.policy: null``): PPO alone, the headline;
- ``pool``: as ``ppo`` with ``train.opponents`` of configs/train/pool.yaml (a quarter of the banks
  play frozen snapshots; snapshots every ``--snapshot-every`` decisions, so a short run takes some);
- ``central``: as ``ppo`` with ``train.critic: central``;
- ``workers``: as ``ppo`` with ``train.env_workers: --env-workers`` (the env copies stepped in
  worker processes, ``interbank.train.worker_vec_env``);
- ``central_workers``: as ``central`` with ``train.env_workers: --env-workers``;
- ``difference`` (only when asked for, ``--variants ppo,difference --banks 20``): as ``ppo`` with
  ``reward.objective: difference`` (a counterfactual re-run of the step per acting bank).

Each variant's rate is PPO's decisions / PPO's wall time (``model.learn``: rollouts and
updates; building the model and writing the last checkpoint left out). Then SB3's PPO
with its default settings on ``make_vec_env("CartPole-v1", n_envs=8)`` for the same wall-clock
conditions (repeats are interleaved, so a busy spell hits all), with one torch thread as
interbank trains on CPU (``--cartpole-threads 0`` for torch's default: on this busy 2-core
machine that ran at 62 steps/s against 1,453 with one thread, so one thread is SB3's better case).
Medians over repeats; ``ratio_to_cartpole`` is each size's PPO-alone median / CartPole's median
(and the median of the per-repeat ratios); ``cost`` of the pool and the critic is
1 - their median rate / PPO alone's (``central_workers``: / ``workers``'). With ``workers``,
``own_cores_ratio_to_cartpole`` is the same ratio as if each process had a core to itself:
decisions / (main process CPU + workers' CPU / K) against CartPole's steps per CPU second (an
estimate for an idle machine with K+1 cores; on a busy one the wall-clock ratio is what counts). Writes benchmarks/results/train.json.
"""

from __future__ import annotations

import argparse
import resource
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


VARIANTS = ("default", "ppo", "pool", "central", "workers", "central_workers")
EXTRA_VARIANTS = ("difference",)  # PPO alone under reward.objective: difference (slow at 100 banks: one re-run per acting bank)


def interbank(banks: int, timesteps: int, seed: int, variant: str, snapshot_every: int, env_workers: int = 2) -> dict[str, float]:
    """One training run of ``variant``: its decisions/s (PPO alone) and the seconds of each part."""
    base = yaml.safe_load((ROOT / "configs/train/default.yaml").read_text())
    base["env"]["n_banks"] = banks
    base["train"].update({"total_timesteps": timesteps, "checkpoint_every": 10**9, "seed": seed, "device": "cpu"})
    if variant != "default":
        base["train"]["warm_start"] = {"policy": None}
    if variant == "pool":
        pool = yaml.safe_load((ROOT / "configs/train/pool.yaml").read_text())["train"]["opponents"]
        base["train"]["opponents"] = {**pool, "snapshot_every": snapshot_every}
    if variant in ("central", "central_workers"):
        base["train"]["critic"] = "central"
    if variant in ("workers", "central_workers"):
        base["train"]["env_workers"] = env_workers
    if variant == "difference":
        base["env"].setdefault("reward", {})["objective"] = "difference"
    with tempfile.TemporaryDirectory() as tmp:
        cfg = Path(tmp) / "c.yaml"
        cfg.write_text(yaml.safe_dump(base))
        t0, cpu0, kids0 = time.perf_counter(), time.process_time(), _children_cpu()
        result = train(cfg, Path(tmp) / "run", progress=False, command="bench")
        total = time.perf_counter() - t0
        cpu, kids = time.process_time() - cpu0, _children_cpu() - kids0
    sec = result.seconds
    workers = base["train"].get("env_workers", 1)
    return {"decisions_per_s": sec["ppo_decisions"] / sec["ppo"], "warm_start_s": sec["warm_start"], "ppo_s": sec["ppo"],
            "total_s": total, "end_to_end_decisions_per_s": result.timesteps / total,
            "main_cpu_s": cpu, "workers_cpu_s": kids,
            # the rate if each process had a core of its own (workers evenly loaded, nothing else running)
            "own_cores_decisions_per_s": result.timesteps / (cpu + kids / workers)}


def _children_cpu() -> float:
    """CPU seconds of the finished child processes (the env workers, once joined)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def cartpole(timesteps: int, seed: int, threads: int | None) -> float:
    """SB3's PPO, default settings, on 8 CartPole-v1 envs; ``threads``: torch threads (None: torch's default)."""
    from stable_baselines3 import PPO
    from stable_baselines3.common.env_util import make_vec_env

    before = torch.get_num_threads()
    torch.set_num_threads(threads or DEFAULT_THREADS)
    t0, cpu0 = time.perf_counter(), time.process_time()
    model = PPO("MlpPolicy", make_vec_env("CartPole-v1", n_envs=8, seed=seed), seed=seed, device="cpu", verbose=0)
    model.learn(total_timesteps=timesteps)
    rate = model.num_timesteps / (time.perf_counter() - t0)
    cpu_rate = model.num_timesteps / (time.process_time() - cpu0)
    torch.set_num_threads(before)
    return rate, cpu_rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--banks", default="20,100")
    parser.add_argument("--timesteps", type=int, default=100_000)
    parser.add_argument("--cartpole-timesteps", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--cartpole-threads", type=int, default=1,
                        help="torch threads for SB3's CartPole run (default 1, as interbank trains; 0: torch's default)")
    parser.add_argument("--variants", default=",".join(VARIANTS), help=f"which of {', '.join(VARIANTS)} to run")
    parser.add_argument("--snapshot-every", type=int, default=20_000, help="the pool variant's train.opponents.snapshot_every")
    parser.add_argument("--env-workers", type=int, default=2, help="train.env_workers of the workers variants")
    parser.add_argument("--note", default="", help="recorded with the results (e.g. whether the machine was shared)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "train.json")
    args = parser.parse_args()
    sizes = [int(b) for b in args.banks.split(",")]
    variants = [v for v in args.variants.split(",") if v]
    if unknown := set(variants) - set(VARIANTS) - set(EXTRA_VARIANTS):
        parser.error(f"--variants: unknown {sorted(unknown)}; choose from {', '.join(VARIANTS + EXTRA_VARIANTS)}")
    runs: dict[tuple[int, str], list[dict[str, float]]] = {(b, v): [] for b in sizes for v in variants}
    cart: list[float] = []
    cart_cpu: list[float] = []  # CartPole's steps per CPU second (its rate on a core of its own)
    for seed in range(args.repeat):
        for banks in sizes:
            for variant in variants:
                runs[banks, variant].append(interbank(banks, args.timesteps, seed, variant, args.snapshot_every, args.env_workers))
        rate, cpu_rate = cartpole(args.cartpole_timesteps, seed, args.cartpole_threads or None)
        cart.append(rate)
        cart_cpu.append(cpu_rate)
        print(json.dumps({"repeat": seed, **{f"{b}_{v}": round(runs[b, v][-1]["decisions_per_s"]) for b, v in runs},
                          "cartpole": round(cart[-1])}), flush=True)
    cart_median = float(np.median(cart))
    rows = []
    for banks in sizes:
        row: dict = {"banks": banks, "timesteps": args.timesteps}
        for variant in variants:
            rates = [r["decisions_per_s"] for r in runs[banks, variant]]
            row[variant] = {"decisions_per_s_median": float(np.median(rates)), "runs": runs[banks, variant]}
            if variant == "default":
                row[variant]["warm_start_s_median"] = float(np.median([r["warm_start_s"] for r in runs[banks, variant]]))
                row[variant]["ppo_s_median"] = float(np.median([r["ppo_s"] for r in runs[banks, variant]]))
        if "ppo" in variants:
            alone = np.array([r["decisions_per_s"] for r in runs[banks, "ppo"]])
            row["ratio_to_cartpole"] = float(np.median(alone) / cart_median)
            row["ratio_per_repeat_median"] = float(np.median(alone / np.array(cart)))
            if "workers" in variants:
                fast = np.array([r["decisions_per_s"] for r in runs[banks, "workers"]])
                row["ratio_to_cartpole_workers"] = float(np.median(fast) / cart_median)
                row["workers_speedup"] = float(np.median(fast) / np.median(alone))
                # each process on a core of its own: (main + workers' CPU / K) against CartPole's CPU rate
                own = {v: float(np.median([r["own_cores_decisions_per_s"] for r in runs[banks, v]])) for v in ("ppo", "workers")}
                row["own_cores_ratio_to_cartpole"] = {v: rate / float(np.median(cart_cpu)) for v, rate in own.items()}
            for extra in ("pool", "central", "difference", "central_workers"):
                if extra in variants:  # the workers' central critic against the workers' PPO alone
                    ref = "workers" if extra == "central_workers" and "workers" in variants else "ppo"
                    row[f"cost_{extra}"] = 1.0 - row[extra]["decisions_per_s_median"] / row[ref]["decisions_per_s_median"]
        rows.append(row)
    result = {
        "note": args.note,
        "interbank": rows,
        "sb3_ppo_cartpole_8_envs": {"timesteps": args.cartpole_timesteps, "torch_threads": args.cartpole_threads or DEFAULT_THREADS,
                                    "steps_per_s_median": cart_median, "runs": cart,
                                    "steps_per_cpu_s_median": float(np.median(cart_cpu)), "cpu_runs": cart_cpu},
    }
    print(json.dumps({r["banks"]: {k: v for k, v in r.items() if k.startswith(("ratio", "cost", "own", "workers_"))} for r in rows}))
    args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()

"""Lone deviations between trained policies: does one bank gain by playing policy B among banks on A?

    python benchmarks/cross_deviations.py OUT.json --config configs/stress.yaml --episodes 20 \
        --bases NAME=CHECKPOINT [...] --deviators NAME=CHECKPOINT [...]

Uses the unilateral-deviation machinery of ``interbank evaluate --deviations`` (episode i, seed
1000 + i, bank i mod n deviates; gain = its summed reward difference, ± standard error over the
episodes; others = the change in the other banks' summed rewards).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from interbank.config import resolve_env_config
from interbank.evaluate.deviation import deviation_tasks, play_profile, summarise
from interbank.policies.checkpoint import load_policy


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--config", required=True)
    ap.add_argument("--episodes", type=int, default=20)
    ap.add_argument("--seed", type=int, default=1000)
    ap.add_argument("--bases", nargs="+", required=True, metavar="NAME=CHECKPOINT")
    ap.add_argument("--deviators", nargs="+", required=True, metavar="NAME=CHECKPOINT")
    args = ap.parse_args()
    bases = {k: load_policy(v, k) for k, v in (p.split("=", 1) for p in args.bases)}
    devs = {k: load_policy(v, k) for k, v in (p.split("=", 1) for p in args.deviators)}
    cfg = resolve_env_config(args.config)
    tasks = deviation_tasks(cfg, bases, devs, args.seed, args.episodes)
    results = {key: play_profile(task) for key, task in tasks}
    table = summarise(results, cfg.n_banks, args.episodes)
    args.out.write_text(json.dumps({"config": args.config, "episodes": args.episodes, "seed": args.seed,
                                    "deviations": table}, indent=2, default=float) + "\n")
    for b, v in table.items():
        for d, row in v.get("deviations", {}).items():
            z = row["gain"] / row["stderr"] if row["stderr"] > 0 else float("nan")
            print(f"{b:>12} <- {d:<14} gain {row['gain']:+.4f} ± {row['stderr']:.4f} (z {z:+.1f})  others {row['others']:+.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

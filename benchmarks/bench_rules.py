"""The rules table: every reference rule on the same seeded episodes of each scenario.

    python benchmarks/bench_rules.py [--seeds 1000-1009] [--out benchmarks/results/rules_v3.json]

Prints a markdown table (docs/economics.md, "Which simple rules do well") and writes the JSON:
per scenario and rule, the mean return (summed reward per bank, mean over episodes) with its
standard error over the episodes, the default rate and the total equity at the end over the start.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from interbank.envs import parallel_env
from interbank.evaluate.episode import evaluate_episode
from interbank.evaluate.facts import parse_policy

SCENARIOS = ("configs/default.yaml", "configs/stress.yaml")
RULES = ("hold", "random", "heuristic", "hoard", "lend_surplus(1.5)", "lend_surplus(3)", "lend_surplus(6)",
         "lend_surplus(12)", "invest_momentum(0.02)", "buy_below_path(0.02)", "carry(0.1)")


def measure(config: str, rule: str, seeds: list[int]) -> dict[str, float]:
    env = parallel_env(config)
    rows = []
    for seed in seeds:
        result = evaluate_episode(env, parse_policy(rule, seed), seed)
        rows.append((result.mean_return, result.defaults / result.n_banks, result.final_capital / result.initial_capital))
    r = np.asarray(rows)
    return {"mean_return": float(r[:, 0].mean()), "se": float(r[:, 0].std(ddof=1) / np.sqrt(len(seeds))),
            "defaults": float(r[:, 1].mean()), "capital": float(r[:, 2].mean())}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", default="1000-1009", help="first-last seed, inclusive")
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/rules_v3.json"))
    args = ap.parse_args(argv)
    first, last = (int(x) for x in args.seeds.split("-"))
    seeds = list(range(first, last + 1))
    table = {c: {rule: measure(c, rule, seeds) for rule in RULES} for c in SCENARIOS}
    args.out.write_text(json.dumps({"env": "interbank_v3", "seeds": args.seeds, "rules": table}, indent=1) + "\n")
    print("| rule | default: mean return | defaults | capital end/start | stress: mean return | defaults | capital end/start |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for rule in RULES:
        cells = []
        for c in SCENARIOS:
            m = table[c][rule]
            cells += [f"{m['mean_return']:+.3f} ± {m['se']:.3f}", f"{100 * m['defaults']:.1f}%", f"{m['capital']:.3f}"]
        print(f"| {rule} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())

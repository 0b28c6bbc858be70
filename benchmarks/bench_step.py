"""Core-step and PettingZoo-API throughput; writes benchmarks/results/step.json.

    .venv/bin/python benchmarks/bench_step.py [--repeat 3]

Same figures as ``interbank bench --json``; docs/benchmarks.md quotes the medians.
"""

from __future__ import annotations

import argparse
import json
import platform
from pathlib import Path

from interbank.bench import run_bench


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--banks", default="10,100,1000,10000")
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rows = run_bench([int(x) for x in args.banks.split(",")], args.steps, repeat=args.repeat, progress=print)
    out = Path(__file__).parent / "results" / "step.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"machine": platform.processor() or platform.machine(), "rows": rows}, indent=2))
    for row in rows:
        print(json.dumps(row))


if __name__ == "__main__":
    main()

"""How often `interbank facts` fails a band by the draw alone: its verdict at 2 episodes and at its
default (``interbank.evaluate.facts.EPISODES``), from many blocks of seeds.

    .venv/bin/python benchmarks/facts_verdicts.py [--blocks 20]

For each scenario (configs/default.yaml, configs/stress.yaml, at their own size) plays
``check(config, "lend_surplus(3)", episodes, seed=s)`` from seeds 0, 1000, 2000, ... and counts the
blocks where some held band fails (``ok`` false), naming the facts. The default number of episodes
is the smallest here that no block fails. Writes benchmarks/results/facts_verdicts.json.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_vs_ref import commit  # noqa: E402

from interbank.evaluate.facts import EPISODES, check  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ("configs/default.yaml", "configs/stress.yaml")


def verdicts(config: str, episodes: int, seeds: list[int]) -> dict:
    """The blocks (first seed) where some band failed, with the failing facts and their values."""
    failed: dict[str, dict[str, float | None]] = {}
    for seed in seeds:
        bad = {r.fact: r.value for r in check(config, "lend_surplus(3)", episodes, seed=seed) if r.ok is False}
        if bad:
            failed[str(seed)] = bad
    return {"config": config, "episodes": episodes, "blocks": len(seeds), "blocks_failing": len(failed), "failed": failed}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--blocks", type=int, default=20)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "facts_verdicts.json")
    args = parser.parse_args()
    seeds = [1000 * k for k in range(args.blocks)]
    rows = [verdicts(c, e, seeds) for c in CONFIGS for e in (2, EPISODES)]
    for r in rows:
        print(f"{r['config']:22s} {r['episodes']:3d} episodes: {r['blocks_failing']} of {r['blocks']} blocks fail a band"
              + (f" ({', '.join(sorted({f for bad in r['failed'].values() for f in bad}))})" if r["failed"] else ""))
    args.out.write_text(json.dumps({"commit": commit(), "rule": "lend_surplus(3)", "runs": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()

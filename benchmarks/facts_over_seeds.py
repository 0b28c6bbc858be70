"""The stylised facts over several blocks of seeds, so that no table quotes one lucky draw.

    .venv/bin/python benchmarks/facts_over_seeds.py [--blocks 1000,2000,3000,4000,5000]

For each scenario (configs/default.yaml, configs/stress.yaml) at its own size (6 episodes a block)
and at 100 banks (4 a block), and each rule (``lend_surplus(3)``, the rule ``interbank facts``
plays; ``hold``; ``carry(0.05)``, the rule that earns the most in the quiet scenario), and with
``lend_surplus(3)`` at 1,000 banks (6 a block: the in-degree tail needs 500+ banks), plays
``interbank.evaluate.facts.check`` from each block's first seed and records every fact's value
and whether it passed. Prints, per fact, the lowest, median and highest value over the blocks and
how many blocks passed the band; writes benchmarks/results/facts_over_seeds.json.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_vs_ref import commit  # noqa: E402

from interbank.evaluate.facts import FACTS, check  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RULES = ("lend_surplus(3)", "hold", "carry(0.05)")
SETTINGS = (  # (scenario, banks or None for its own size, episodes per block, rules)
    ("configs/default.yaml", None, 6, RULES), ("configs/default.yaml", 100, 4, RULES),
    ("configs/stress.yaml", None, 6, RULES), ("configs/stress.yaml", 100, 4, RULES),
    # the in-degree tail needs 500+ banks: the rule ``facts`` plays, at 1,000
    ("configs/default.yaml", 1000, 6, RULES[:1]), ("configs/stress.yaml", 1000, 6, RULES[:1]),
)


def summary(values: list[float | None], oks: list[bool | None]) -> dict:
    """Lowest, median and highest of the measured values, and how many blocks passed / were judged."""
    v = np.array([x for x in values if x is not None], dtype=float)
    judged = [ok for ok in oks if ok is not None]
    return {"low": float(v.min()) if v.size else None, "median": float(np.median(v)) if v.size else None,
            "high": float(v.max()) if v.size else None, "passed": sum(judged), "judged": len(judged), "values": values}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--blocks", default="1000,2000,3000,4000,5000", help="the first seed of each block")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "facts_over_seeds.json")
    parser.add_argument("--banks", type=int, help="one setting instead of the table's: both scenarios at this size, "
                        "lend_surplus(3), --episodes a block (e.g. --banks 300 --episodes 4 --blocks 0,42,1000)")
    parser.add_argument("--episodes", type=int, default=4, help="with --banks: episodes a block (default 4)")
    args = parser.parse_args()
    blocks = [int(b) for b in args.blocks.split(",")]
    settings = SETTINGS if args.banks is None else tuple((c, args.banks, args.episodes, RULES[:1])
                                                          for c in ("configs/default.yaml", "configs/stress.yaml"))
    out = []
    for config, banks, episodes, rules in settings:
        for rule in rules:
            results = [check(config, rule, episodes, banks, seed) for seed in blocks]
            facts = {f.name: summary([r[i].value for r in results], [r[i].ok for r in results]) for i, f in enumerate(FACTS)}
            out.append({"config": config, "banks": banks, "episodes": episodes, "rule": rule, "blocks": blocks, "facts": facts})
            print(f"\n{config} banks={banks or 'own'} {rule} ({len(blocks)} blocks of {episodes} episodes)")
            for name, s in facts.items():
                if s["low"] is None:
                    continue
                print(f"  {name:28s} {s['low']:9.4g} {s['median']:9.4g} {s['high']:9.4g}   passed {s['passed']}/{s['judged']}")
    args.out.write_text(json.dumps({"commit": commit(), "settings": out}, indent=1) + "\n")


if __name__ == "__main__":
    main()

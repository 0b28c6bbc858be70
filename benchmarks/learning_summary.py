"""Gather the learning result from ``interbank evaluate`` output folders into one JSON.

    python benchmarks/learning_summary.py OUT.json NAME=EVAL_DIR [NAME=EVAL_DIR ...]

For each evaluation (its ``metrics.json``): the trained runs' return, default rate and welfare
(each seed and across seeds), the best tuned rule's, each learned deviator's epsilon (gain +-
standard error, z, the others' change, the curve over its budget) and the price of anarchy
(plain and with difference rewards) where the folder holds social or difference runs.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

KEYS = ("mean_return", "std_return", "default_rate", "welfare", "action_frequency")


def _phases(path: list) -> dict:
    """The action shares (L/B/I/D/H) in the first 10 steps and in the last half of the episode."""
    if not path:
        return {}
    half = len(path) // 2
    mean = lambda rows: [round(sum(r[k] for r in rows) / len(rows), 3) for k in range(len(rows[0]))]
    return {"steps_1_10": mean(path[:10]), "second_half": mean(path[half:])}


def summarise(folder: Path) -> dict:
    m = json.loads((folder / "metrics.json").read_text())
    pol = m["policies"]
    out = {
        "checkpoint": m["checkpoint"], "env": m["env"], "episodes": m["episodes"], "seeds": [m["seeds"][0], m["seeds"][-1]],
        "trained": {name: {**{k: pol[name].get(k) for k in KEYS}, "over_time": _phases(pol[name].get("action_path"))}
                    for name in pol if "/" in name},
        "best_rule": {"name": m["best_rule"], **{k: pol[m["best_rule"]].get(k) for k in KEYS}},
        "across_seeds": m.get("across_seeds", {}),
    }
    if m.get("exploitability"):
        out["epsilon"] = m["exploitability"]
    for key in ("price_of_anarchy", "price_of_anarchy_difference"):
        if key in m:
            out[key] = m[key]
    return out


def main(argv: list[str]) -> int:
    target, pairs = Path(argv[0]), argv[1:]
    result = {}
    for pair in pairs:
        name, folder = pair.split("=", 1)
        result[name] = summarise(Path(folder))
    target.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

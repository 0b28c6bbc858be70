"""Inference cost of the priority models per bank-step (rule-based vs learned).

    .venv/bin/python benchmarks/bench_priority.py

Times ``model(features)`` on the base features of 100 and 10,000 banks (median of
repeats). Writes benchmarks/results/priority.json.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from interbank.envs.observation import N_BASE
from interbank.envs.priority import LearnedPriority, RuleBasedPriority


def per_bank_ns(model, n: int, repeat: int = 200) -> float:
    x = np.random.default_rng(0).random((n, N_BASE))
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        model(x)
        times.append(time.perf_counter() - t0)
    return float(np.median(times)) / n * 1e9


def main() -> None:
    learned = LearnedPriority(np.random.default_rng(1).standard_normal((3, N_BASE + 1)))
    rows = []
    for n in (100, 10_000):
        row = {"banks": n, "rule_based_ns_per_bank": per_bank_ns(RuleBasedPriority(), n),
               "learned_ns_per_bank": per_bank_ns(learned, n)}
        rows.append(row)
        print(json.dumps(row))
    out = Path(__file__).parent / "results" / "priority.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()

"""How much of the central bank facility's use comes from the tiered market's rationing: facility
dollars drawn in steps where the interbank market left requests unmet while lenders still had
more on offer than those requests (a periphery bank no lender within reach, and no dealer, could
fund: the market's structure, not a lack of liquidity).

    .venv/bin/python benchmarks/tier_rationing.py [--episodes 5] [--seed 1000]

``lend_surplus(3)`` (the rule ``interbank facts`` plays) in configs/default.yaml and
configs/stress.yaml at their own size and at 100 banks. Writes benchmarks/results/tier_rationing.json.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from interbank.envs import parallel_env
from interbank.evaluate.facts import parse_policy

ROOT = Path(__file__).resolve().parents[1]


def measure(config: str, banks: int | None, episodes: int, seed: int) -> dict:
    env = parallel_env(config, **({"n_banks": banks} if banks else {}))
    rule = parse_policy("lend_surplus(3)", seed)
    facility = rationed = interbank = 0.0
    steps_rationed = steps = 0
    for ep in range(episodes):
        env.reset(seed=seed + ep)
        s = env.system
        while not s.done:
            before = dict(s.liquidity_sources)
            env.step_batch(rule.act(env.observation_array(), env.action_mask_array()))
            drawn = s.liquidity_sources["facility"] - before["facility"]
            f = s.state.funding
            unmet = float(f["unmet"].sum())
            spare = f["offered"] - f["lent"]
            facility += drawn
            interbank += s.liquidity_sources["interbank"] - before["interbank"]
            steps += 1
            if unmet > 0 and spare > unmet:
                rationed += drawn
                steps_rationed += 1
    return {"config": config, "banks": banks or env.system.n, "episodes": episodes, "seeds": [seed, seed + episodes - 1],
            "facility_dollars": facility, "facility_dollars_while_supply_was_left": rationed,
            "share_rationed": rationed / facility if facility > 0 else None, "interbank_dollars": interbank,
            "steps": steps, "steps_rationed": steps_rationed}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--episodes", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1000)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "tier_rationing.json")
    args = parser.parse_args()
    rows = [measure(c, b, args.episodes, args.seed) for c in ("configs/default.yaml", "configs/stress.yaml") for b in (None, 100)]
    for r in rows:
        share = "-" if r["share_rationed"] is None else f"{r['share_rationed']:.0%}"
        print(f"{r['config']:22s} {r['banks']:4d} banks: facility {r['facility_dollars']:12,.0f} $ ({share} while the market "
              f"had supply left, {r['steps_rationed']} of {r['steps']} steps), interbank {r['interbank_dollars']:12,.0f} $")
    args.out.write_text(json.dumps(rows, indent=1) + "\n")


if __name__ == "__main__":
    main()

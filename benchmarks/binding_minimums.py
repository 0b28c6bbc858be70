"""Do the capital and liquidity minimums bind on the trades that could breach them? For every LEND
or INVEST of a bank that survives its step and ends it below a minimum (a bank that defaults in
the step is not counted: none did in these episodes), the step is played again from the same state with
that bank on HOLD: if it then ends the step above both minimums, the trade used the headroom the
step's shocks took (the trade itself never breaches: the mask forbids it, tests/sim/test_regulation.py).

    .venv/bin/python benchmarks/binding_minimums.py [--episodes 5] [--seed 1000]

Policies: ``lend_surplus(1.5)`` (the tuned rule the default training recipe starts from) and
random valid actions (every allowed action equally likely: the mask's stress test); then random
valid actions again with every shock off (``SHOCKS_OFF``), where what is left to take a trade's
headroom is the other banks' trades in the same step (the mask judges each bank's trade as if it
traded alone). Writes benchmarks/results/binding_minimums.json.
"""

from __future__ import annotations

import argparse
import copy
import json
from pathlib import Path

import numpy as np

from interbank.envs import parallel_env
from interbank.evaluate.facts import parse_policy
from interbank.sim.actions import HOLD, INVEST, LEND

ROOT = Path(__file__).resolve().parents[1]


def _meets_minimums(system) -> np.ndarray:
    """bool[n]: live and at or above both minimums now."""
    reg = system.params.config.regulation
    return system.active & (system.capital_ratio() >= system.state.min_capital_ratio) & (system.liquidity_coverage() >= reg.min_lcr)


SHOCKS_OFF: dict[str, float] = {
    "markets.volatility": 0.0, "markets.drift": 0.0, "deposit_flows.volatility": 0.0, "shocks.crash_prob": 0.0,
    "shocks.withdrawal_prob": 0.0, "rates.book_volatility": 0.0,
}
"""No market noise or drift, no deposit flows, no crashes, no runs, no credit surprises."""


def measure(config: str, policy: str, episodes: int, seed: int, overrides: dict[str, float] | None = None) -> dict:
    env = parallel_env(config, **(overrides or {}))
    rng = np.random.default_rng(seed)
    rule = None if policy == "random" else parse_policy(policy, seed)
    trades = below = caused = 0
    for ep in range(episodes):
        env.reset(seed=seed + ep)
        system = env.system
        while not system.done:
            mask = env.action_mask_array().astype(bool)
            actions = (np.argmax(rng.random(mask.shape) * mask, axis=1) if rule is None
                       else np.asarray(rule.act(env.observation_array(), env.action_mask_array())))
            start = copy.deepcopy(system.state)
            env.step_batch(actions)
            traded = ((actions == LEND) | (actions == INVEST)) & start.active
            breached = np.flatnonzero(traded & system.active & ~_meets_minimums(system))
            trades += int(traded.sum())
            below += breached.size
            if breached.size:
                end = system.state
                for i in breached.tolist():
                    system.state = copy.deepcopy(start)
                    system._figures = None
                    held = actions.copy()
                    held[i] = HOLD
                    system.step(held)
                    caused += bool(_meets_minimums(system)[i])
                system.state, system._figures = end, None
    return {"config": config, "policy": policy, "overrides": overrides or {}, "episodes": episodes, "seeds": [seed, seed + episodes - 1],
            "lend_invest_trades": trades, "ended_below_a_minimum": below, "share_below": below / max(trades, 1),
            "above_had_it_held": caused, "share_caused": caused / max(trades, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--episodes", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1000)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "binding_minimums.json")
    args = parser.parse_args()
    configs = ("configs/default.yaml", "configs/stress.yaml")
    rows = [measure(c, p, args.episodes, args.seed) for c in configs for p in ("lend_surplus(1.5)", "random")]
    rows += [measure(c, "random", args.episodes, args.seed, SHOCKS_OFF) for c in configs]
    for r in rows:
        policy = r["policy"] + (", shocks off" if r["overrides"] else "")
        print(f"{r['config']:22s} {policy:30s} {r['lend_invest_trades']:6d} trades, {r['share_below']:.2%} end below a "
              f"minimum, {r['above_had_it_held']} ({r['share_caused']:.2%}) would have stayed above on HOLD")
    args.out.write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()

"""Equities as collateral at the lending facility: the shipped scenarios against the ECB variants.

A measurement for the next env version (nothing here changes a default). The shipped scenarios
(configs/default.yaml, configs/stress.yaml) lend against market positions after a 50% haircut;
configs/experiments/{default,stress}_ecb_collateral.yaml take equities out of the collateral
(``central_bank.market_haircut: 1.0``), as the ECB does. For each of the four scenarios a rule is
searched with ``interbank search-rules`` (its default budget) and evaluated with ``interbank
evaluate`` beside the tuned rules, the searched rules brought in with ``--compare``:

    interbank search-rules --config CONFIG --out runs/leak/searched-NAME --workers 1
    cp runs/leak/searched-NAME/searched_rule.json benchmarks/results/facility_collateral/searched_rule_NAME.json
    interbank evaluate CHECKPOINT --config CONFIG --episodes 20 --out runs/leak/eval-NAME \\
        --compare searched=benchmarks.facility_collateral:searched_NAME [--compare searched_shipped=...]
    python benchmarks/facility_collateral.py     # gathers benchmarks/results/facility_collateral.json

It also plays each policy that matters (hold, the best tuned rule, both searched rules) in the
shipped scenario and in its variant on the same 20 evaluation episodes (same networks and shocks)
and reports the paired change of its return and facility draws: what the equities' collateral
value was worth to it.

The factories below (``searched_default`` ...) read the committed rules, so ``--compare`` finds them
from the repository root (``PYTHONPATH=.``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from interbank.envs import parallel_env
from interbank.evaluate.episode import evaluate_episode
from interbank.evaluate.facts import parse_policy
from interbank.policies.rollout import rollout
from interbank.policies.searched import SearchedRulePolicy, load_searched_rule

ROOT = Path(__file__).resolve().parents[1]
RULES = ROOT / "benchmarks" / "results" / "facility_collateral"
SCENARIOS = {
    "default": "configs/default.yaml",
    "default_ecb_collateral": "configs/experiments/default_ecb_collateral.yaml",
    "stress": "configs/stress.yaml",
    "stress_ecb_collateral": "configs/experiments/stress_ecb_collateral.yaml",
}
SHIPPED = {"default_ecb_collateral": "default", "stress_ecb_collateral": "stress"}


def _rule(name: str) -> SearchedRulePolicy:
    return load_searched_rule(RULES / f"searched_rule_{name}.json")


def searched_default() -> SearchedRulePolicy:
    """The rule searched in configs/default.yaml."""
    return _rule("default")


def searched_stress() -> SearchedRulePolicy:
    """The rule searched in configs/stress.yaml."""
    return _rule("stress")


def searched_default_ecb_collateral() -> SearchedRulePolicy:
    """The rule searched in configs/experiments/default_ecb_collateral.yaml."""
    return _rule("default_ecb_collateral")


def searched_stress_ecb_collateral() -> SearchedRulePolicy:
    """The rule searched in configs/experiments/stress_ecb_collateral.yaml."""
    return _rule("stress_ecb_collateral")


def _figures(m: dict[str, Any]) -> dict[str, float]:
    """One policy's figures from metrics.json: return ± standard error over the episodes (the
    metrics' std is the population one), defaults, welfare, facility draws over initial equity."""
    n = m["episodes"]
    se = m["std_return"] * (n / (n - 1)) ** 0.5 / n ** 0.5 if n > 1 else 0.0
    return {"mean_return": m["mean_return"], "stderr": se, "std_return": m["std_return"],
            "default_rate": m["default_rate"], "welfare": m["welfare"],
            "facility_draws_x_initial_equity": m["central_bank_usage"],
            "action_frequency": m.get("action_frequency")}


def gather(runs: Path) -> dict[str, Any]:
    """Every scenario's figures from runs/leak/{searched,eval}-NAME."""
    out: dict[str, Any] = {}
    for name, config in SCENARIOS.items():
        search = json.loads((RULES / f"searched_rule_{name}.json").read_text())
        metrics = json.loads((runs / f"eval-{name}" / "metrics.json").read_text())
        pol = metrics["policies"]
        best = metrics["best_rule"]
        out[name] = {
            "config": config,
            "config_digest": metrics["env"]["config_digest"],
            "n_banks": metrics["env"]["n_banks"],
            "evaluation_seeds": [metrics["seeds"][0], metrics["seeds"][-1]],
            "search": {"budget": search["search"]["budget"], "tuning_seeds": search["search"]["tuning_seeds"],
                       "tuning_score": search["search"]["tuning_score"],
                       "evaluation": search["evaluation"], "description": search["description"]},
            "searched": _figures(pol["searched"]),
            "searched_in_shipped_scenario_rule": _figures(pol["searched_shipped"]) if "searched_shipped" in pol else None,
            "best_rule": {"name": best, **_figures(pol[best])},
            "hold": _figures(pol["hold"]),
            "trained": _figures(pol["trained"]) if "trained" in pol else None,
            "every_policy": {k: {"mean_return": v["mean_return"], "default_rate": v["default_rate"],
                                 "facility_draws_x_initial_equity": v["central_bank_usage"]} for k, v in pol.items()},
        }
    return out


def _policy(name: str, shipped: str):
    if name == "searched_shipped":
        return _rule(shipped)
    if name == "searched_variant":
        return _rule(f"{shipped}_ecb_collateral")
    return parse_policy(name, 0)


def paired(variant: str, policies: list[str], seeds: list[int]) -> dict[str, Any]:
    """Each policy on the same episodes of the shipped scenario and of ``variant``: its return and
    facility draws in both, and the paired change (variant minus shipped) ± standard error."""
    shipped = SHIPPED[variant]
    envs = {k: parallel_env(str(ROOT / SCENARIOS[k])) for k in (shipped, variant)}
    out: dict[str, Any] = {}
    for name in policies:
        rows = {k: [evaluate_episode(env, _policy(name, shipped), seed) for seed in seeds] for k, env in envs.items()}
        ret = {k: np.array([r.mean_return for r in v]) for k, v in rows.items()}
        draws = {k: np.array([r.central_bank_usage for r in v]) for k, v in rows.items()}
        diff = ret[variant] - ret[shipped]
        se = float(diff.std(ddof=1) / np.sqrt(diff.size))
        out[name] = {"return_shipped": float(ret[shipped].mean()), "return_variant": float(ret[variant].mean()),
                     "draws_shipped": float(draws[shipped].mean()), "draws_variant": float(draws[variant].mean()),
                     "return_change": float(diff.mean()), "return_change_stderr": se,
                     "z": float(diff.mean() / se) if se > 0 else None}
    return out


def headroom(variant: str, policies: list[str], seeds: list[int]) -> dict[str, Any]:
    """How close each policy comes to the collateral limit in ``variant``: over each episode, the
    largest ratio of a live bank's facility debt to its loan book after the haircut (the only
    collateral left there), and the largest facility debt over that bank's initial equity; means
    over episodes of those per-episode maxima."""
    shipped = SHIPPED[variant]
    env = parallel_env(str(ROOT / SCENARIOS[variant]))
    out: dict[str, Any] = {}
    for name in policies:
        use, debt = [], []
        for seed in seeds:
            peak = {"use": 0.0, "debt": 0.0}

            def on_batch(system, batch, peak=peak) -> None:
                st = system.state
                live = system.active
                cap = (1.0 - system.config.central_bank.book_haircut) * st.book
                ratio = np.where(live & (cap > 0), st.cb_loans / np.maximum(cap, 1e-12), 0.0)
                peak["use"] = max(peak["use"], float(ratio.max()))
                peak["debt"] = max(peak["debt"], float((np.where(live, st.cb_loans, 0.0) / st.capital0).max()))

            rollout(env, _policy(name, shipped), seed, None, on_batch=on_batch)
            use.append(peak["use"])
            debt.append(peak["debt"])
        out[name] = {"peak_debt_over_book_collateral": float(np.mean(use)), "max_over_episodes": float(np.max(use)),
                     "peak_debt_over_initial_equity": float(np.mean(debt))}
    return out


def table(results: dict[str, Any]) -> str:
    rows = ["| scenario | searched | best tuned rule | hold | trained (default recipe, s0) |", "|---|---|---|---|---|"]
    for name, r in results.items():
        def cell(f: dict[str, Any] | None, label: str = "") -> str:
            if f is None:
                return ""
            return f"{label}{f['mean_return']:+.3f} ± {f['stderr']:.3f}, draws {f['facility_draws_x_initial_equity']:.2f}x"
        rows.append(f"| {name} | {cell(r['searched'])} | {cell(r['best_rule'], r['best_rule']['name'] + ': ')} | "
                    f"{cell(r['hold'])} | {cell(r['trained'])} |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=Path, default=ROOT / "runs" / "leak", help="where the search and evaluate folders are")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "facility_collateral.json")
    ap.add_argument("--extra", type=Path, help="a JSON file merged in as is (commands, facts, notes)")
    ap.add_argument("--seeds", default="1000-1019", help="first-last evaluation seed of the paired runs, inclusive")
    args = ap.parse_args(argv)
    first, last = (int(x) for x in args.seeds.split("-"))
    seeds = list(range(first, last + 1))
    data: dict[str, Any] = json.loads(args.extra.read_text()) if args.extra else {}
    data["scenarios"] = gather(args.runs)
    data["paired_shipped_to_variant"] = {"seeds": [first, last]}
    for variant in SHIPPED:
        best = data["scenarios"][variant]["best_rule"]["name"]
        names = list(dict.fromkeys(["hold", best, data["scenarios"][SHIPPED[variant]]["best_rule"]["name"],
                                    "searched_shipped", "searched_variant"]))
        data["paired_shipped_to_variant"][variant] = paired(variant, names, seeds)
    data["collateral_headroom_in_variant"] = {
        "what": "per episode, the largest live bank's facility debt over its loan book after the 30% haircut "
                "(the collateral left when equities count for nothing; 1 = the limit binds) and the largest "
                "facility debt over that bank's initial equity; means over the evaluation episodes",
        **{v: headroom(v, ["hold", "searched_shipped", "searched_variant"], seeds) for v in SHIPPED}}
    args.out.write_text(json.dumps(data, indent=1) + "\n")
    print(table(data["scenarios"]))
    for variant in SHIPPED:
        print(f"\n{SHIPPED[variant]} -> {variant} (paired, seeds {first}-{last})")
        for name, r in data["paired_shipped_to_variant"][variant].items():
            print(f"  {name:24s} return {r['return_shipped']:+.3f} -> {r['return_variant']:+.3f} "
                  f"({r['return_change']:+.3f} ± {r['return_change_stderr']:.3f}), "
                  f"draws {r['draws_shipped']:.2f}x -> {r['draws_variant']:.2f}x")
    for variant in SHIPPED:
        print(f"\ncollateral headroom in {variant}")
        for name, r in data["collateral_headroom_in_variant"][variant].items():
            print(f"  {name:24s} peak debt / book collateral {r['peak_debt_over_book_collateral']:.2f} "
                  f"(max {r['max_over_episodes']:.2f}), peak debt / initial equity {r['peak_debt_over_initial_equity']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

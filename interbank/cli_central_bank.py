"""``interbank evaluate-central-bank``: each central bank judged after the banks adapt to it.

The parser and the command live here, beside ``interbank.cli`` (which registers them), so that the
main CLI module stays readable. See ``interbank.evaluate.central_bank_critique`` for the method.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from interbank.scenarios import train_config_arg
from interbank.ui import check_out_folder, fail, path_arg, table


def add_parser(sub, positive_int, non_negative_int, seed_list, seed) -> None:
    """Register ``evaluate-central-bank`` on the ``interbank`` subparsers."""
    from interbank.envs.central_bank_rules import CENTRAL_BANK_RULES
    from interbank.policies.central_bank_setup import CENTRAL_BANK_CHOICES

    rules, every = ", ".join(CENTRAL_BANK_RULES), ",".join(CENTRAL_BANK_CHOICES)  # the rules, then learned
    cb = sub.add_parser(
        "evaluate-central-bank", help="judge central banks (rules and learned) after the banks re-train under them",
        description="For each central bank and training seed: train the banks under it (a learned central bank: "
        "train both together, alternating), re-train banks from scratch under it, frozen, for the same budget, and "
        "score both on the same seeded episodes: welfare, default rate, systemic loss, DebtRank, central bank losses, "
        "fire-sale losses and the risk the banks take (capital ratio, market positions, lending). Rules are tuned "
        "first against the heuristic banks. A central bank is called better than the best other rule only if its "
        "score beats it on every seed after the banks re-train. Writes central_bank_eval.json/.csv and "
        "central_bank_instruments.png (policy rate, buffer, haircuts beside funding stress); finished runs in --out "
        "are reused, so an interrupted judgement continues.",
        epilog="Example: interbank evaluate-central-bank --config configs/train/central_bank.yaml "
        f"--central-banks {every} --seeds 0,1,2 --out runs/cb-judge",
    )
    cb.add_argument("--config", type=train_config_arg, required=True,
                    help="training config (env + train sections): a YAML file or the name of one in configs/train/")
    cb.add_argument("--central-banks", default=every, metavar="CB1,CB2,...",
                    help=f"rules ({rules}), `learned` (trained here per seed) or two-policy run "
                    f"folders (default {every})")
    cb.add_argument("--seeds", type=seed_list, default=[0, 1, 2], metavar="S1,S2,...", help="training seeds (default 0,1,2)")
    cb.add_argument("--out", type=path_arg, default=Path("runs/central-bank-eval"), help="folder for the runs and results")
    cb.add_argument("--bank-timesteps", type=positive_int, metavar="N",
                    help="every banks' training budget, in bank decisions (default: the config's train.total_timesteps)")
    cb.add_argument("--central-bank-timesteps", type=positive_int, default=4096, metavar="N",
                    help="a learned central bank's PPO steps per round (default 4096)")
    cb.add_argument("--rounds", type=positive_int, default=2, help="rounds of the alternation for `learned` (default 2)")
    cb.add_argument("--first-rule", choices=list(CENTRAL_BANK_RULES), default="never",
                    help="the rule a learned central bank's banks start under (default never)")
    cb.add_argument("--episodes", type=positive_int, default=5, help="evaluation episodes per pair (default 5)")
    cb.add_argument("--seed", type=seed, default=1000, help="evaluation episode i uses seed + i (default 1000)")
    cb.add_argument("--tune-episodes", type=non_negative_int, default=3,
                    help="episodes per grid point when tuning the rules (0: default parameters; default 3)")
    cb.add_argument("--retrain-rules", action="store_true",
                    help="also re-train the banks under each rule with another training seed (by default a rule's "
                    "re-trained banks are its trained banks: the rule never changed)")
    cb.add_argument("--no-warm-start", action="store_true",
                    help="every banks' training starts from a random policy (ignore the config's train.warm_start)")
    cb.add_argument("--no-plots", action="store_true", help="skip the PNG plot")
    cb.add_argument("--no-progress", action="store_true", help="print no progress lines")


def cmd_evaluate_central_bank(args: argparse.Namespace) -> int:
    from interbank.config import ConfigError
    from interbank.evaluate.central_bank_critique import (
        CritiqueBudget, critique_table, judge, parse_central_banks, write_critique,
    )
    from interbank.files import WriteError
    from interbank.run_folder import CheckpointError, RunFolderError

    try:
        from interbank.train.central_bank import CentralBankSettings, CritiqueTraining
        from interbank.train.config import load_train_config
    except ImportError as err:
        fail(f"evaluate-central-bank trains: it needs stable-baselines3, sb3-contrib and torch ({err.name} is missing)")
    check_out_folder("evaluate-central-bank", args.out)
    try:
        specs = parse_central_banks(args.central_banks)
        base = load_train_config(args.config).model_dump(mode="json")
    except ConfigError as err:
        fail(str(err))
    budget = CritiqueBudget(bank_timesteps=args.bank_timesteps, rounds=args.rounds, first_rule=args.first_rule,
                            episodes=args.episodes, eval_seed=args.seed, tune_episodes=args.tune_episodes,
                            retrain_rules=args.retrain_rules, warm_start=not args.no_warm_start)
    training = CritiqueTraining(CentralBankSettings(timesteps=args.central_bank_timesteps))
    say = None if args.no_progress else (lambda message: print(f"... {message}", file=sys.stderr, flush=True))
    try:
        critique = judge(args.config, base, specs, args.seeds, args.out, budget, training, say)
        paths = write_critique(critique, args.out, plots=not args.no_plots)
    except (ConfigError, CheckpointError, RunFolderError, WriteError) as err:
        fail(str(err))
    meta = critique.meta
    print(f"{meta['n_banks']} banks, {meta['max_steps']} steps, training seeds {', '.join(map(str, meta['seeds']))}, "
          f"{len(meta['eval_seeds'])} episodes each; every banks' training: {meta['budget']['bank_timesteps']:,} decisions")
    print(table(*critique_table(critique)))
    tuned = {name: t["params"] for name, t in critique.tuned.items() if t["params"]}
    if tuned:
        print("tuned rules: " + "; ".join(f"{n} " + ", ".join(f"{k}={v:g}" for k, v in p.items()) for n, p in tuned.items()))
    for name, v in critique.verdicts.items():
        print(f"{name}: {v['verdict']}")
    print(f"written: {', '.join(str(p) for p in paths)} ({meta['wall_s']:.0f} s)")
    return 0

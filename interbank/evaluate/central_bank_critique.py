"""Judge central banks after the banks adapt to them (the Lucas critique).

A central bank's policy changes what the banks learn to do, so a policy that looks good against
banks trained under another one may lose its edge once the banks re-learn. For each central bank
(the rules, tuned; a learned one) and each training seed this module measures it against

- ``trained``: the banks trained under it: for a rule, the banks' shared policy trained under the
  rule; for a learned central bank, the banks of its own two-policy run (trained alternately with
  it, ``interbank.train.central_bank``);
- ``retrained``: banks re-trained from scratch under it, frozen, for the same budget. For a rule
  this is the same experiment as ``trained`` (the rule never changed while the banks learned), so
  the same banks are reported unless ``retrain_rules`` asks for an independent run (another
  training seed: the seed-to-seed spread of training).

Each pair plays the same seeded evaluation episodes; the figures are those of
``interbank.evaluate.episode.EpisodeResult`` plus the risk the banks take (median capital ratio,
market positions and interbank loans over assets, averaged over the steps) and the central bank's
instruments over time (policy rate, buffer, haircuts) beside funding stress. A central bank is
called better than the best other rule only if its score (its summed reward: welfare change minus
``loss_weight`` x its losses) is higher on every seed after the banks re-train; one that is
better on every seed against the banks trained under it but not after re-training is reported as
"advantage disappears once the banks re-train".
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from interbank.config import ConfigError, EnvConfig, resolve_env_config
from interbank.envs import parallel_env
from interbank.envs.central_bank_observation import CB_FEATURE_INDEX
from interbank.envs.central_bank_rules import CENTRAL_BANK_RULES, rule_grid
from interbank.evaluate.central_bank import central_bank_score, tune_central_bank
from interbank.evaluate.episode import evaluate_episode
from interbank.files import write_atomic
from interbank.policies.base import Policy
from interbank.policies.central_bank_setup import LEARNED
from interbank.sim.state import HAIRCUT_SCALES

RULES: tuple[str, ...] = tuple(CENTRAL_BANK_RULES)
BANKS = ("trained", "retrained")
METRICS = ("welfare", "default_rate", "systemic_loss", "debtrank_max", "central_bank_losses", "central_bank_cost",
           "fire_sale_losses", "capital_ratio", "market_share", "interbank_share", "interbank_volume", "score")
"""Per (central bank, banks, seed): means over the evaluation episodes. ``capital_ratio``: median over
live banks of equity / risk-weighted assets; ``market_share`` / ``interbank_share``: market positions /
interbank loans over total assets of the live banks (each averaged over the steps);
``interbank_volume``: interbank loans over their initial amount; the rest as ``EpisodeResult``."""
TRACES = ("policy_rate", "ccyb", "haircuts", "funding_demand", "facility_use")


@dataclass
class CentralBankSpec:
    """One central bank to judge: ``name`` (its label), ``rule`` (a rule name; None for a learned
    one), ``run`` (a learned one: a finished two-policy run folder to load; None: trained here,
    one run per seed)."""

    name: str
    rule: str | None = None
    run: Path | None = None


@dataclass
class CritiqueBudget:
    """What the judgement costs: ``bank_timesteps`` (every banks' training, the same for all; None:
    the config's ``train.total_timesteps``), ``rounds`` and ``central_bank`` (a learned central
    bank's training), ``first_rule`` (the rule the learned one's
    banks start under), ``episodes`` (evaluation episodes per pair, seeds ``eval_seed`` + i),
    ``tune_episodes`` (per grid point when tuning the rules against the ``heuristic`` banks, seeds
    ``tune_seed`` + i; 0: the rules' default parameters), ``retrain_rules``, ``warm_start`` (False:
    every banks' training starts from a random policy, without the config's ``train.warm_start``)."""

    bank_timesteps: int | None = None
    rounds: int = 2
    first_rule: str = "never"
    episodes: int = 5
    eval_seed: int = 1000
    tune_episodes: int = 3
    tune_seed: int = 0
    retrain_rules: bool = False
    warm_start: bool = True


def parse_central_banks(text: str) -> list[CentralBankSpec]:
    """``never,taylor,ccyb,bagehot,learned,runs/cb``: rule names, ``learned`` (trained here per
    seed) or two-policy run folders. One-line error on anything else."""
    specs: list[CentralBankSpec] = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        if item in RULES:
            specs.append(CentralBankSpec(item, rule=item))
        elif item == LEARNED:
            specs.append(CentralBankSpec(LEARNED))
        elif (Path(item) / "curriculum.json").is_file():
            specs.append(CentralBankSpec(Path(item).name, run=Path(item)))
        else:
            raise ConfigError(f"--central-banks: {item!r} is not a rule ({', '.join(RULES)}), `learned` "
                              "or a two-policy run folder (one with curriculum.json)")
    names = [s.name for s in specs]
    if not specs:
        raise ConfigError(f"--central-banks: name one or more central banks ({', '.join(RULES)}, `learned` or a "
                          f"two-policy run folder), got {text!r}")
    if len(set(names)) != len(names):
        raise ConfigError(f"--central-banks: give each central bank once (got {text!r})")
    return specs


# ------------------------------------------------------------------ measuring
def measure(env_cfg: EnvConfig, banks: Policy, central_bank: Any, seeds: list[int]) -> tuple[dict[str, float], dict[str, list[float]]]:
    """Means over the episodes ``seeds`` of ``METRICS``, and the mean path of each of ``TRACES``,
    with the banks playing ``banks`` and the central bank ``central_bank`` (None: the config's rule)."""
    loss_weight = env_cfg.central_bank.loss_weight
    rows: list[dict[str, float]] = []
    traces: list[dict[str, list[float]]] = []
    for seed in seeds:
        env = parallel_env(env_cfg)
        if central_bank is not None:
            env.central_bank_policy = central_bank
        trace: dict[str, list[float]] = {k: [] for k in (*TRACES, "capital_ratio", "market_share", "interbank_share")}

        def on_step(step: int, events: list, env=env, trace=trace) -> None:
            s = env.system
            obs = env.central_bank_agent.obs
            trace["policy_rate"].append(float(s.policy_rate))
            trace["ccyb"].append(float(s.ccyb))
            trace["haircuts"].append(float(HAIRCUT_SCALES[s.haircuts]))
            trace["funding_demand"].append(float(obs[CB_FEATURE_INDEX["funding_demand"]]))
            trace["facility_use"].append(float(obs[CB_FEATURE_INDEX["facility_use"]]))
            live = s.active
            if live.any():
                assets = np.maximum(s.total_assets()[live], 1e-12)
                trace["capital_ratio"].append(float(np.median(s.capital_ratio()[live])))
                trace["market_share"].append(float(np.mean(s.investment_total()[live] / assets)))
                trace["interbank_share"].append(float(np.mean(s.loans_out()[live] / assets)))

        result = evaluate_episode(env, banks, seed, on_step)
        rows.append({
            "welfare": result.welfare, "default_rate": result.defaults / max(result.n_banks, 1),
            "systemic_loss": result.systemic_loss, "debtrank_max": result.debtrank_max,
            "central_bank_losses": result.central_bank_losses, "central_bank_cost": result.central_bank_cost,
            "fire_sale_losses": result.fire_sale_losses,
            "capital_ratio": float(np.mean(trace["capital_ratio"] or [0.0])),
            "market_share": float(np.mean(trace["market_share"] or [0.0])),
            "interbank_share": float(np.mean(trace["interbank_share"] or [0.0])),
            "interbank_volume": result.interbank_volume, "score": central_bank_score(result, loss_weight),
        })
        traces.append({k: trace[k] for k in TRACES})
    metrics = {k: float(np.mean([r[k] for r in rows])) for k in METRICS}
    length = min(len(t["policy_rate"]) for t in traces)
    mean_traces = {k: np.mean([t[k][:length] for t in traces], axis=0).tolist() for k in TRACES}
    return metrics, mean_traces


# ------------------------------------------------------------------ the judgement
@dataclass
class Critique:
    """The judgement: ``rows`` (one per central bank x banks x seed: ``METRICS`` and where the banks
    came from), ``traces`` (central bank -> banks -> seed -> ``TRACES`` paths), ``tuned`` (rule ->
    parameters and grid scores), ``verdicts`` (central bank -> verdict), ``meta``."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    traces: dict[str, dict[str, dict[str, dict[str, list[float]]]]] = field(default_factory=dict)
    tuned: dict[str, dict[str, Any]] = field(default_factory=dict)
    verdicts: dict[str, dict[str, Any]] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> list[dict[str, Any]]:
        """Mean over seeds per central bank x banks (plus the score per seed)."""
        out = []
        for name in dict.fromkeys(r["central_bank"] for r in self.rows):
            for banks in BANKS:
                rows = [r for r in self.rows if r["central_bank"] == name and r["banks"] == banks]
                if rows:
                    out.append({"central_bank": name, "banks": banks, **{k: float(np.mean([r[k] for r in rows])) for k in METRICS},
                                "score_per_seed": [r["score"] for r in rows], "seeds": [r["seed"] for r in rows]})
        return out

    def as_json(self) -> dict[str, Any]:
        return {**self.meta, "tuned": self.tuned, "summary": self.summary(), "verdicts": self.verdicts,
                "rows": self.rows, "traces": self.traces}


MIN_MARGIN = 1e-3
"""A score margin counts as a win only above this (0.1% of the banks' initial equity): two central
banks that act alike differ by rounding, not by policy."""


def verdicts(rows: list[dict[str, Any]], rule_names: list[str], min_margin: float = MIN_MARGIN) -> dict[str, dict[str, Any]]:
    """For each central bank: against the best other rule (the highest mean score after re-training),
    its score margin per seed with the banks trained under it and after re-training, and the verdict
    (a margin wins above ``min_margin``)."""
    def scores(name: str, banks: str) -> dict[int, float]:
        return {r["seed"]: r["score"] for r in rows if r["central_bank"] == name and r["banks"] == banks}

    out: dict[str, dict[str, Any]] = {}
    for name in dict.fromkeys(r["central_bank"] for r in rows):
        others = [r for r in rule_names if r != name]
        if not others:
            continue
        best = max(others, key=lambda r: np.mean(list(scores(r, "retrained").values())))
        margins = {}
        for banks in BANKS:
            mine, theirs = scores(name, banks), scores(best, banks)
            margins[banks] = [mine[s] - theirs[s] for s in sorted(mine) if s in theirs]
        after = bool(margins["retrained"]) and all(m > min_margin for m in margins["retrained"])
        before = bool(margins["trained"]) and all(m > min_margin for m in margins["trained"])
        if after:
            verdict = f"better than {best} on every seed after the banks re-train"
        elif before:
            verdict = f"advantage disappears once the banks re-train (better than {best} on every seed only with the banks trained under it)"
        else:
            verdict = f"not better than {best} on every seed"
        out[name] = {"against": best, "margin_trained": margins["trained"], "margin_retrained": margins["retrained"],
                     "better": after, "verdict": verdict}
    return out


def judge(config_path: Path, base: dict[str, Any], specs: list[CentralBankSpec], seeds: list[int], out: Path,
          budget: CritiqueBudget, training: Any, progress: Callable[[str], None] | None = None) -> Critique:
    """Train and measure every central bank in ``specs`` on every training seed and return the
    judgement. ``base``: the training config at ``config_path``, resolved (a dict); ``training``
    trains (``interbank.train.central_bank.CritiqueTraining``: ``banks(...)``, ``both(...)``,
    ``settings()``; evaluate never imports train). Runs go under ``out``: ``banks/`` for the banks,
    ``learned-s<seed>/`` for learned central banks trained here; finished runs are reused, so an
    interrupted judgement continues."""
    from interbank.policies import make_policy
    from interbank.policies.central_bank import load_two_policy_run
    from interbank.policies.checkpoint import load_policy

    say = progress or (lambda message: None)
    started = time.perf_counter()
    workers = int(base.get("train", {}).get("env_workers", 1))
    if workers > 1 and any(spec.rule is None for spec in specs):
        # checked before any training: banks that learn under a learned central bank step in one process
        raise ConfigError(f"train.env_workers = {workers}: banks re-trained under a learned central bank need the "
                          "env copies in one process; set env_workers: 1 (or judge the rules only)")
    if not budget.warm_start:
        base = {**base, "train": {**base["train"], "warm_start": {"policy": None}}}
        # the learned central banks' runs read a config file: this one, without the warm start
        config_path = out / "config-without-warm-start.yaml"
        out.mkdir(parents=True, exist_ok=True)
        write_atomic(config_path, yaml.safe_dump(base, sort_keys=False))
    timesteps = int(budget.bank_timesteps or base["train"]["total_timesteps"])
    env_cfg = resolve_env_config(EnvConfig.model_validate(base["env"]), **{"central_bank.agent": True})
    eval_seeds = [budget.eval_seed + i for i in range(budget.episodes)]
    critique = Critique()
    # the rules, tuned once against the heuristic banks (cheap and the same for every seed)
    params: dict[str, dict[str, float]] = {}
    for spec in specs:
        if spec.rule is None:
            continue
        if budget.tune_episodes and len(rule_grid(spec.rule)) > 1:
            say(f"tuning {spec.rule}")
            tuned = tune_central_bank(env_cfg, spec.rule, make_policy("heuristic"),
                                      [budget.tune_seed + i for i in range(budget.tune_episodes)])
            params[spec.name] = tuned.params
            critique.tuned[spec.name] = {"params": tuned.params, "grid_scores": tuned.scores}
        else:
            params[spec.name] = {}
            critique.tuned[spec.name] = {"params": {}, "grid_scores": {}}
    for seed in seeds:
        for spec in specs:
            policies: dict[str, tuple[Policy, Any, str]] = {}
            if spec.rule is not None:
                p = params[spec.name]
                say(f"seed {seed}: banks under {spec.name}")
                ckpt = training.banks(base, out / "banks" / f"{spec.name}-s{seed}", spec.rule, p, timesteps, seed)
                policies["trained"] = (load_policy(ckpt), None, str(ckpt))
                if budget.retrain_rules:
                    say(f"seed {seed}: banks re-trained under {spec.name}")
                    ckpt = training.banks(base, out / "banks" / f"{spec.name}-retrained-s{seed}", spec.rule, p,
                                          timesteps, seed + 100)
                policies["retrained"] = (load_policy(ckpt), None, str(ckpt))
                cfg = resolve_env_config(env_cfg, **{"central_bank.rule": spec.rule, "central_bank.rule_params": p})
            else:
                run = spec.run
                if run is None:
                    run = out / f"{spec.name}-s{seed}"
                    say(f"seed {seed}: training the banks and the central bank together ({budget.rounds} rounds)")
                    training.both(config_path, run, budget.first_rule, timesteps, seed, budget.rounds)
                banks, cb = load_two_policy_run(run)
                policies["trained"] = (banks, cb, str(run))
                say(f"seed {seed}: banks re-trained from scratch under {spec.name}")
                ckpt = training.banks(base, out / "banks" / f"{spec.name}-retrained-s{seed}", "never", {}, timesteps,
                                      seed, central_bank_policy=cb)
                policies["retrained"] = (load_policy(ckpt), cb, str(ckpt))
                cfg = env_cfg
            for banks_kind, (bank_policy, cb_policy, source) in policies.items():
                say(f"seed {seed}: measuring {spec.name} x banks {banks_kind}")
                metrics, trace = measure(cfg, bank_policy, cb_policy, eval_seeds)
                critique.rows.append({"central_bank": spec.name, "banks": banks_kind, "seed": seed, **metrics,
                                      "source": source, "params": params.get(spec.name)})
                critique.traces.setdefault(spec.name, {}).setdefault(banks_kind, {})[str(seed)] = trace
    rule_names = [s.name for s in specs if s.rule is not None]
    critique.verdicts = verdicts(critique.rows, rule_names)
    critique.meta = {
        "config": str(config_path), "seeds": list(seeds), "eval_seeds": eval_seeds, "n_banks": env_cfg.n_banks,
        "max_steps": env_cfg.max_steps, "central_banks": [s.name for s in specs],
        "budget": {"bank_timesteps": timesteps, "rounds": budget.rounds, "first_rule": budget.first_rule,
                   "central_bank": training.settings(),
                   "episodes": budget.episodes, "tune_episodes": budget.tune_episodes,
                   "retrain_rules": budget.retrain_rules, "warm_start": budget.warm_start,
                   "min_margin": MIN_MARGIN},
        "wall_s": round(time.perf_counter() - started, 1),
    }
    return critique


TABLE = (("welfare", "welfare"), ("default_rate", "default rate"), ("systemic_loss", "systemic loss"),
         ("debtrank_max", "DebtRank max"), ("central_bank_cost", "CB losses"), ("fire_sale_losses", "fire sales"),
         ("capital_ratio", "capital ratio"), ("market_share", "markets/assets"), ("interbank_share", "lending/assets"),
         ("score", "CB score"))


def critique_table(critique: Critique) -> tuple[list[str], list[list[Any]]]:
    """The people's table: one row per central bank x banks, means over seeds (``TABLE``'s columns)."""
    headers = ["central bank", "banks", *(label for _, label in TABLE), "score per seed"]
    rows = [[r["central_bank"], r["banks"], *(round(r[k], 4) for k, _ in TABLE),
             ", ".join(f"{v:+.3f}" for v in r["score_per_seed"])] for r in critique.summary()]
    return headers, rows


def write_critique(critique: Critique, out: Path, plots: bool = True) -> list[Path]:
    """``out/central_bank_eval.json`` (everything), ``central_bank_eval.csv`` (one row per central
    bank x banks x seed, then the means with seed ``mean``) and, with ``plots``, the instruments' PNG."""
    import csv
    import io
    import json

    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "central_bank_eval.json", out / "central_bank_eval.csv"]
    write_atomic(paths[0], json.dumps(critique.as_json(), indent=1) + "\n")
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["central_bank", "banks", "seed", *METRICS])
    for r in critique.rows:
        writer.writerow([r["central_bank"], r["banks"], r["seed"], *(f"{r[k]:.6g}" for k in METRICS)])
    for r in critique.summary():
        writer.writerow([r["central_bank"], r["banks"], "mean", *(f"{r[k]:.6g}" for k in METRICS)])
    write_atomic(paths[1], buf.getvalue())
    if plots:
        from interbank.evaluate.central_bank_plots import plot_instruments

        paths.append(plot_instruments(critique.traces, out, f"{critique.meta.get('n_banks')} banks"))
    return paths

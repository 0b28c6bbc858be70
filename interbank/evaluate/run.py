"""``interbank evaluate``: a checkpoint beside the baselines on the same seeded episodes.

Episode i uses seed ``seed + i`` for every policy, so each policy meets the same
networks, banks and shocks (the env draws its step noise whatever the actions).
Writes ``metrics.json`` (``policies`` -> name -> figures), ``metrics.csv`` (one row
per policy), and PNG plots; returns the metrics. Three stages: ``plan`` (what is scored: the
``Entry`` list, the env, the tuned and searched rules), ``run`` (the episodes and the optional
analyses) and ``report`` (the files); ``evaluate`` chains them.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from interbank.config import EnvConfig, listed_banks_replaced, load_env_config, resolve_env_config
from interbank.envs import parallel_env
from interbank.evaluate.compare import CompareError, load_compare
from interbank.evaluate.metrics import UNITS, aggregate
from interbank.evaluate.parallel import map_tasks
from interbank.evaluate.deviation import deviation_tasks, play_profile, summarise
from interbank.evaluate.exploit import BestResponseTrainer, run_exploit
from interbank.evaluate.search import SearchBudget, search_rule
from interbank.evaluate.tuning import grid_points, tune_rules, tuning_report
from interbank.policies import BASELINES, RULE_GRIDS, make_policy
from interbank.run_folder import CheckpointError
from interbank.envs.priority import FixedPriority, priority_model_from_config
from interbank.policies.checkpoint import MLPPolicy, load_checkpoint
from interbank.policies.searched import describe_rule, rule_to_json, save_searched_rule
from interbank.run_folder import training_env_config
from interbank.sim.actions import ACTIONS, PRIORITIES
from interbank.evaluate.episode import evaluate_episode
from interbank.policies.central_bank_setup import learned_setup
from interbank.policies.central_bank import CURRICULUM, two_policy_run

BASELINE_NAMES = tuple(BASELINES)  # every registered baseline, in the registry's order
# the CSV columns read from a policy's ``return_by_priority`` (column -> priority)
PRIORITY_COLUMNS = {f"return_{p.lower()}": p.lower() for p in PRIORITIES}
CSV_COLUMNS = (
    "policy", "episodes", "mean_return", "std_return", "mean_objective", "default_rate", "mean_cascade_size", "max_cascade_size",
    "systemic_loss", "final_capital_ratio", "debtrank_max", "debtrank_mean", *PRIORITY_COLUMNS,
    "welfare", "interbank_volume", "funding_unmet", "fire_sale_losses", "central_bank_usage",
)


def default_out(checkpoint_folder: Path | None) -> Path:
    if checkpoint_folder is not None:
        for parent in checkpoint_folder.parents[:3]:
            if (parent / "config.yaml").is_file():
                return parent / "eval"
    return Path("eval")


def seed_runs(path: Path) -> list[Path]:
    """The run folders directly under ``path`` (a parent folder written by ``train --seeds``),
    sorted; empty when ``path`` is itself a run, a checkpoint or a file."""
    if not path.is_dir() or (path / "config.yaml").is_file() or (path / "policy.json").is_file():
        return []
    return sorted(p for p in path.iterdir() if p.is_dir() and (p / "config.yaml").is_file() and (p / "checkpoints").is_dir())


def not_runs(path: Path) -> list[Path]:
    """The folders beside the seed runs of ``path`` that are not runs (an empty or unfinished seed's,
    which evaluate does not score), sorted; an evaluation's own output folder (``metrics.json``) is
    not one of them. Empty when ``path`` holds no seed runs."""
    runs = seed_runs(path)
    if not runs:
        return []
    return sorted(p for p in path.iterdir() if p.is_dir() and p not in runs and not (p / "metrics.json").is_file())


def run_label(run: Path) -> tuple[str, int]:
    """(group, training seed) of a run folder: group ``trained`` for the selfish objective,
    ``trained_social`` for the social one."""
    data = yaml.safe_load((run / "config.yaml").read_text()) or {}
    objective = ((data.get("env") or {}).get("reward") or {}).get("objective", "selfish")
    seed = int((data.get("train") or {}).get("seed", 0))
    return ("trained" if objective == "selfish" else f"trained_{objective}"), seed


SPREAD_KEYS = ("mean_return", "default_rate", "welfare", "interbank_volume", "funding_unmet", "fire_sale_losses",
               "central_bank_usage", "final_capital_ratio")


def across_seeds(results: dict[str, dict[str, Any]], groups: dict[str, list[str]]) -> dict[str, Any]:
    """Per group of seed runs: mean, std, min and max over seeds of each headline figure."""
    out: dict[str, Any] = {}
    for group, names in groups.items():
        out[group] = {"runs": names}
        for key in SPREAD_KEYS:
            vals = np.array([results[n][key] for n in names])
            out[group][key] = {"mean": float(vals.mean()), "std": float(vals.std()), "min": float(vals.min()), "max": float(vals.max())}
    return out


@dataclass
class Entry:
    """One policy the evaluation scores: its ``name`` (a row of the report), the ``policy`` (loaded
    from a checkpoint, built from a baseline or a ``--compare`` factory, or searched), the priority
    model it runs under (``None``: the env's configured one) and its ``kind``: ``trained`` (a
    checkpoint; ``folder`` is its checkpoint folder, ``group`` its seed group), ``variant`` (the
    trained policy under other priorities), ``compare`` (a user's policy), ``rule`` (a baseline, a
    tunable one at its best grid point) or ``searched`` (the CMA-ES rule)."""

    name: str
    policy: Any
    kind: str
    priority_model: Any = None
    folder: Path | None = None
    group: str | None = None


@dataclass
class Plan:
    """What ``evaluate`` scores, on which env and episodes: the entries in report order, the env
    (and where it came from), the checkpoint's folder and learned priority model, the seed groups,
    the tuning and search reports, and the output folder. ``len(plan)``: its (entry, episode) tasks,
    the progress ticks ``run`` reports."""

    entries: list[Entry]
    env_cfg: EnvConfig
    source: str
    episodes: int
    seed: int
    checkpoint: str | None  # what metrics.json names: the parent of seed runs, or the checkpoint folder
    folder: Path | None
    learned: Any
    groups: dict[str, list[str]]
    tuning: dict[str, Any] | None
    searched: dict[str, Any] | None
    out: Path
    # a two-policy run's learned central bank: it plays the central_bank agent in every scored
    # episode (None: the config's rule, if the agent is on)
    central_bank: Any = None
    central_bank_path: str | None = None

    def __len__(self) -> int:
        return len(self.entries) * self.episodes

    def tasks(self) -> list[tuple[int, int]]:
        return [(k, i) for k in range(len(self.entries)) for i in range(self.episodes)]

    @property
    def rules(self) -> list[Entry]:
        return [e for e in self.entries if e.kind in ("rule", "searched")]

    def rule_names(self) -> list[str]:
        """The tuned rules ``best_rule`` is chosen among: the searched one is reported beside them, not ranked."""
        return [e.name for e in self.rules if e.name not in ("random", "searched")]

    def trained_names(self) -> list[str]:
        return [n for names in self.groups.values() for n in names] or [e.name for e in self.entries[:1] if e.name == "trained"]

    def deviation_policies(self) -> dict[str, Any]:
        """Every policy a bank may deviate to: the entries under the env's priorities (random aside)
        and every grid point of the tuned rules."""
        policies = {e.name: e.policy for e in self.entries if e.priority_model is None and e.name != "random"}
        for family in (self.tuning or {}).get("rules") or {}:
            for params in grid_points(family):
                policy = make_policy(family, self.seed, **params)
                policies.setdefault(policy.name, policy)
        return policies

    def profiles(self) -> list[str]:
        """The profiles deviations and exploitability start from: the trained policies and the best
        rule (its name is known once the entries are scored: ``best`` stands for it)."""
        return [*self.trained_names(), *(["best"] if self.rule_names() else [])]

    def deviation_ticks(self) -> int:
        """Progress ticks of ``run``'s deviations (each base profile against every other policy)."""
        policies = self.deviation_policies()
        bases = [n for n in self.trained_names() if n in policies] + (["best"] if self.rule_names() else [])
        return len(bases) * self.episodes * len(policies)


@dataclass
class Outcome:
    """What ``run`` measured: figures per entry, the best tuned rule, and the optional analyses."""

    results: dict[str, dict[str, Any]]
    best: str | None
    deviations: dict[str, Any] | None = None
    exploitability: dict[str, Any] | None = None


def _rule_entries(env_cfg: EnvConfig, baselines: tuple[str, ...], seed: int, tune_episodes: int, tune_seed: int,
                  progress: Callable[[str, int], None] | None) -> tuple[list[Entry], dict[str, Any] | None]:
    """Baselines, with each tunable rule at its best grid point on the tuning seeds."""
    families = tuple(b for b in baselines if b in RULE_GRIDS) if tune_episodes > 0 else ()
    tuning_seeds = list(range(tune_seed, tune_seed + tune_episodes))
    tuned = tune_rules(env_cfg, families, tuning_seeds, progress) if families else {}
    entries: list[Entry] = []
    for name in baselines:
        if name == "heuristic":
            entries.append(Entry(name, make_policy(name, seed), "rule"))
        if name in tuned:
            policy = tuned[name].policy(seed)
            if all(policy.name != e.name for e in entries):
                entries.append(Entry(policy.name, policy, "rule"))
        elif name != "heuristic":
            entries.append(Entry(name, make_policy(name, seed), "rule"))
    return entries, (tuning_report(tuned, tuning_seeds) if tuned else None)


def _searched_entry(env_cfg: EnvConfig, budget: SearchBudget, tune_seed: int, backend: str, workers: int,
                    address: str | None, progress: Callable[[str, int], None] | None) -> tuple[Entry, dict[str, Any]]:
    """The ``searched`` entry: a linear rule searched by CMA-ES on the tuning seeds, and its report
    (weights, search history, a readable description)."""
    seeds = list(range(tune_seed, tune_seed + budget.episodes))
    result = search_rule(env_cfg, seeds, budget, backend, workers, address, progress)
    report = {**rule_to_json(result.policy), "search": result.report(seeds), "description": describe_rule(result.policy)}
    return Entry("searched", result.policy, "searched"), report


def _trained_entries(checkpoint: str | Path | None) -> tuple[list[Entry], list[Path], Any]:
    """The trained entries (one per seed run under a parent folder, or the one checkpoint), the seed
    runs (empty for one checkpoint) and the checkpoint's learned priority model."""
    if checkpoint is None:
        return [], [], None
    both = two_policy_run(checkpoint)
    if both is None and (Path(checkpoint) / CURRICULUM).is_file():
        # its banks/ would pass for a seed run and be scored without its learned central bank
        raise CheckpointError(f"{checkpoint} is an unfinished two-policy run (no banks/ and central_bank/ yet): "
                              f"continue it with `interbank train --resume --out {checkpoint}`")
    runs = [] if both else seed_runs(Path(checkpoint))  # a two-policy run: its banks' one
    if not runs:
        trained, learned, folder = load_checkpoint(checkpoint)
        return [Entry("trained", trained, "trained", learned, folder)], runs, learned
    entries = []
    for run in runs:
        group, _ = run_label(run)
        policy, run_learned, run_folder = load_checkpoint(run)
        entries.append(Entry(f"{group}/{run.name}", policy, "trained", run_learned, run_folder, group))
    return entries, runs, None


def _env_config(config: str | Path | None, folder: Path | None, banks: int | None) -> tuple[EnvConfig, str]:
    """The env every policy is scored on (``config``, else the training run's, else the default;
    resized to ``banks``) with the selfish (shareholder) reward, and where it came from."""
    if config is not None:
        env_cfg, source = load_env_config(config), str(config)
    else:
        trained_env = training_env_config(folder) if folder else None
        env_cfg = trained_env or EnvConfig()
        source = "training run config" if trained_env else "built-in default"
    replaced = listed_banks_replaced(env_cfg, banks)
    if replaced:
        source = f"{source}, its {replaced}"
    if banks is not None:
        env_cfg = resolve_env_config(env_cfg, n_banks=banks)
    return env_cfg.model_copy(update={"reward": env_cfg.reward.model_copy(update={"objective": "selfish"})}), source


def plan(
    checkpoint: str | Path | None, episodes: int = 20, seed: int = 0, config: str | Path | None = None,
    banks: int | None = None, out: Path | None = None, baselines: tuple[str, ...] = BASELINE_NAMES,
    progress: Callable[[str, int], None] | None = None, priority_variants: bool = False, backend: str = "local",
    workers: int = 1, address: str | None = None, compare: tuple[str, ...] = (), tune_episodes: int = 10,
    tune_seed: int = 0, search: SearchBudget | None = None, central_bank: tuple[str, dict[str, float]] | None = None,
) -> Plan:
    """Load the checkpoints and ``compare`` policies, settle the env, tune the rules and search the
    linear one (both on the tuning seeds: their progress is reported here): every entry, in report order.
    ``central_bank``: (rule, parameters) of a rule central bank every policy is scored under (the
    ``central_bank`` agent on, driven by the rule); None: the scenario's own."""
    external = [load_compare(spec) for spec in compare]  # fail fast, before any episode
    entries, runs, learned = _trained_entries(checkpoint)
    folder = entries[0].folder if entries else None
    env_cfg, source = _env_config(config, folder, banks)
    learned_cb, learned_cb_path = None, None
    pair = two_policy_run(checkpoint) if checkpoint is not None and not runs else None
    if central_bank is None and pair is not None:  # both policies of a two-policy run
        setup = learned_setup(env_cfg, pair[1])
        env_cfg, learned_cb, learned_cb_path = setup.config, setup.policy, setup.info["central_bank"]["checkpoint_path"]
    if central_bank is not None:
        rule, params = central_bank
        env_cfg = resolve_env_config(env_cfg, **{"central_bank.agent": True, "central_bank.rule": rule,
                                                 "central_bank.rule_params": dict(params)})
    groups: dict[str, list[str]] = {}
    for e in entries:
        if e.group is not None:
            groups.setdefault(e.group, []).append(e.name)
    if checkpoint is not None and not runs and (learned is not None or priority_variants):
        trained = entries[0].policy
        variants = [Entry("trained/rule_based", trained, "variant", priority_model_from_config(env_cfg.priority))]
        if learned is not None:
            variants.append(Entry("trained/learned", trained, "variant", learned))
        variants += [Entry(f"trained/{p.lower()}", trained, "variant", FixedPriority(p)) for p in PRIORITIES]
        entries[1:1] = variants
    taken = {e.name for e in entries} | set(baselines) | ({"searched"} if search is not None else set())
    for k, p in enumerate(external):  # checked before any tuning: a name says which row is whose
        if p.name in taken:
            whose = ("the searched rule's" if p.name == "searched" else "a baseline's" if p.name in baselines
                     else "another --compare's" if p.name in {q.name for q in external[:k]} else "the checkpoint's")
            raise CompareError(f"--compare name {p.name!r} is already {whose} name; pick another")
        taken.add(p.name)
    entries += [Entry(p.name, p, "compare") for p in external]
    rules, tuning = _rule_entries(env_cfg, baselines, seed, tune_episodes, tune_seed, progress)
    taken = {e.name for e in entries}
    clash = [r.name for r in rules if r.name in taken]
    if clash:
        raise CompareError(f"--compare name {clash[0]!r} is already a baseline's name; pick another")
    searched = None
    if search is not None:
        entry, searched = _searched_entry(env_cfg, search, tune_seed, backend, workers, address, progress)
        rules.append(entry)
    return Plan(
        entries=entries + rules, env_cfg=env_cfg, source=source, episodes=episodes, seed=seed,
        checkpoint=str(checkpoint if runs else folder) if checkpoint is not None else None, folder=folder,
        learned=learned, groups=groups, tuning=tuning, searched=searched,
        out=out or (Path(checkpoint) / "eval" if runs else default_out(folder)), central_bank=learned_cb,
        central_bank_path=learned_cb_path,
    )


def run(plan: Plan, progress: Callable[[str, int], None] | None = None, backend: str = "local", workers: int = 1,
        address: str | None = None, deviations: bool = False, exploit: BestResponseTrainer | None = None) -> Outcome:
    """Score every entry on the plan's episodes (``len(plan)`` progress ticks), pick the best tuned
    rule, then (optionally) test the profiles for unilateral deviations and learned deviators."""
    episodes_out = run_episodes(plan.env_cfg, plan.entries, plan.tasks(), plan.seed, backend, workers, address, progress,
                                plan.central_bank)
    results = {e.name: aggregate([episodes_out[(k, i)] for i in range(plan.episodes)]) for k, e in enumerate(plan.entries)}
    rule_names = plan.rule_names()
    best = max(rule_names, key=lambda n: results[n]["mean_return"]) if rule_names else None
    outcome = Outcome(results, best)
    trained_names = plan.trained_names()
    if deviations:
        outcome.deviations = run_deviations(plan, trained_names, best, backend, workers, address, progress)
    if exploit is not None:
        policies = {e.name: e.policy for e in plan.entries}
        folders = {e.name: e.folder for e in plan.entries if e.kind == "trained"}
        profiles = [(n, policies[n], folders.get(n)) for n in [*trained_names, best] if n is not None and n in policies]
        outcome.exploitability = run_exploit(plan.env_cfg, profiles, exploit, plan.folder, plan.seed, plan.episodes,
                                             backend, workers, address, progress)
    return outcome


def report(plan: Plan, outcome: Outcome, plots: bool = True) -> tuple[dict[str, Any], Path]:
    """``metrics.json``, ``metrics.csv``, the searched rule's file and the plots in ``plan.out``;
    returns (metrics, output folder)."""
    results, best = outcome.results, outcome.best
    first = plan.entries[0].policy if plan.entries else None
    trained_meta = first.meta if isinstance(first, MLPPolicy) else None
    env_cfg = plan.env_cfg
    metrics: dict[str, Any] = {
        "checkpoint": plan.checkpoint,
        "trained_step": (trained_meta or {}).get("train", {}).get("step"),
        "trained_on": (trained_meta or {}).get("env"),
        "priority_model": "learned" if plan.learned is not None else "rule_based",
        "env": {"source": plan.source, "n_banks": env_cfg.n_banks, "max_steps": env_cfg.max_steps,
                "config_digest": env_cfg.digest(),
                **({"central_bank": _central_bank_facts(plan)} if env_cfg.central_bank.agent else {})},
        "episodes": plan.episodes,
        "seeds": [plan.seed + i for i in range(plan.episodes)],
        "units": UNITS,
        "tuning": plan.tuning,
        "best_rule": best,
        "policies": results,
    }
    if plan.searched is not None:
        metrics["searched_rule"] = plan.searched
    if outcome.deviations is not None:
        metrics["deviations"] = outcome.deviations
    if outcome.exploitability is not None:
        metrics["exploitability"] = outcome.exploitability
    if plan.groups:
        metrics["across_seeds"] = across_seeds(results, plan.groups)
        if "trained" in plan.groups and "trained_social" in plan.groups:
            selfish, social = (metrics["across_seeds"][g]["welfare"]["mean"] for g in ("trained", "trained_social"))
            # a ratio of welfares means something only when both are positive
            metrics["price_of_anarchy"] = selfish / social if selfish > 0 and social > 0 else None
        if "trained" in plan.groups and "trained_difference" in plan.groups:
            selfish, credited = (metrics["across_seeds"][g]["welfare"]["mean"] for g in ("trained", "trained_difference"))
            metrics["price_of_anarchy_difference"] = selfish / credited if selfish > 0 and credited > 0 else None
    out = plan.out
    out.mkdir(parents=True, exist_ok=True)
    if plan.searched is not None:
        scores = {n: {k: results[n][k] for k in ("mean_return", "std_return")} for n in ("searched", "hold", best) if n in results}
        save_searched_rule(out / "searched_rule.json", plan.rules[-1].policy, {
            "search": plan.searched["search"], "evaluation": {"seeds": metrics["seeds"], "scores": scores},
            "description": plan.searched["description"]})
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2, allow_nan=False) + "\n")
    with (out / "metrics.csv").open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(CSV_COLUMNS)
        for name, m in results.items():
            writer.writerow(csv_row(name, m))
    if plots:
        _plots(metrics, out, f"{env_cfg.n_banks} banks, {plan.episodes} episodes")
    return metrics, out


def csv_row(name: str, m: dict[str, Any]) -> list[Any]:
    """One policy's row of ``metrics.csv``, column by column of ``CSV_COLUMNS``."""
    def value(column: str) -> Any:
        if column == "policy":
            return name
        if column in PRIORITY_COLUMNS:
            return m["return_by_priority"][PRIORITY_COLUMNS[column]]
        return m[column]

    return [value(c) for c in CSV_COLUMNS]


def _plots(metrics: dict[str, Any], out: Path, title: str) -> None:
    from interbank.evaluate.plots import plot_all

    plot_all(metrics["policies"], out, title)
    if metrics.get("deviations"):
        from interbank.evaluate.plots import plot_deviations

        plot_deviations(metrics["deviations"], out, title)
    if metrics.get("exploitability"):
        from interbank.evaluate.plots import plot_exploitability

        plot_exploitability(metrics["exploitability"], out, title)


def evaluate(
    checkpoint: str | Path | None, episodes: int = 20, seed: int = 0, config: str | Path | None = None,
    banks: int | None = None, out: Path | None = None, baselines: tuple[str, ...] = BASELINE_NAMES,
    progress: Callable[[str, int], None] | None = None, plots: bool = True, priority_variants: bool = False,
    backend: str = "local", workers: int = 1, address: str | None = None, compare: tuple[str, ...] = (),
    tune_episodes: int = 10, tune_seed: int = 0, deviations: bool = False, search: SearchBudget | None = None,
    exploit: BestResponseTrainer | None = None,
) -> tuple[dict[str, Any], Path]:
    """Evaluate and write the report (``plan`` -> ``run`` -> ``report``); returns (metrics, output folder).

    ``checkpoint`` is a run folder, a checkpoint, or a parent folder of seed runs (``train
    --seeds``): then every run is evaluated (``trained/s0``, ``trained/s1`` ...; social-objective
    runs as ``trained_social/sN``) and ``across_seeds`` holds mean, std, min and max over seeds;
    with both objectives present, ``price_of_anarchy`` = welfare under the selfish policies /
    welfare under the social ones. Rules in ``RULE_GRIDS`` are tuned first on ``tune_episodes``
    seeds from ``tune_seed`` (training seeds; 0 skips tuning) and scored at their best grid
    point. ``compare`` adds users' policies (``NAME=package.module:factory``). Every policy is
    scored with the selfish (shareholder) reward, whatever the runs trained on.

    ``deviations`` also tests every trained policy and the best rule for unilateral deviations
    (``interbank.evaluate.deviation``): one bank at a time switches to another policy (every
    other one evaluated, every grid point of the tuned rules) while the rest keep theirs;
    ``metrics["deviations"]`` holds each base profile's gains (plot: deviations.png).

    With a learned priority model in the checkpoint (or ``priority_variants``), the trained
    policy also runs under the rule-based priorities, the learned ones and each fixed priority,
    as ``trained/rule_based``, ``trained/learned``, ``trained/profit`` ... (``trained`` itself
    uses the learned model when there is one).

    ``search`` (a budget; its ``episodes`` are the tuning seeds from ``tune_seed``) also searches a
    linear rule with CMA-ES (``interbank.evaluate.search``) and scores it as ``searched``;
    ``metrics["searched_rule"]`` holds its weights, the search's history and a readable
    description, and ``out/searched_rule.json`` the rule (``load_searched_rule`` reads it).

    ``exploit`` (a best-response trainer, ``interbank.evaluate.exploit``; the CLI's ``--exploit``
    passes ``interbank.train.best_response``) trains a lone deviator against each trained policy
    and the best rule, and scores it along its budget on these episodes;
    ``metrics["exploitability"]`` holds each profile's epsilon (plot: exploitability.png)."""
    p = plan(checkpoint, episodes, seed, config, banks, out, baselines, progress, priority_variants, backend, workers,
             address, compare, tune_episodes, tune_seed, search)
    return report(p, run(p, progress, backend, workers, address, deviations, exploit), plots)


def _central_bank_facts(plan: Plan) -> dict[str, Any]:
    """What metrics.json says of the central bank agent: its rule, or the learned one (the rule then
    only decides in the rules' tuning, search and deviation episodes)."""
    cb = plan.env_cfg.central_bank
    facts: dict[str, Any] = {"rule": cb.rule, "params": cb.rule_params}
    if plan.central_bank is not None:
        facts = {"policy": "learned", "checkpoint": plan.central_bank_path, "tuning_rule": facts}
    return facts


def _episode(args: tuple) -> Any:
    env_cfg, policy, priority_model, seed, central_bank = args
    env = parallel_env(env_cfg, priority_model=priority_model)
    if central_bank is not None:
        env.central_bank_policy = central_bank
    return evaluate_episode(env, policy, seed)


def run_deviations(plan: Plan, trained: list[str], best: str | None, backend: str, workers: int, address: str | None,
                   progress: Callable[[str, int], None] | None) -> dict[str, Any]:
    """Unilateral deviations from each trained policy and from the best rule (see ``evaluate``)."""
    policies = plan.deviation_policies()
    bases = {name: policies[name] for name in [*trained, best] if name in policies}
    keyed = deviation_tasks(plan.env_cfg, bases, policies, plan.seed, plan.episodes)

    def record(j: int, _: Any) -> None:
        if progress:
            progress("deviations", j + 1)

    results = map_tasks(play_profile, [t for _, t in keyed], backend, workers, address, record)
    return summarise(dict(zip((k for k, _ in keyed), results)), plan.env_cfg.n_banks, plan.episodes)


def run_episodes(env_cfg: EnvConfig, entries: list[Entry], tasks: list[tuple[int, int]], seed: int, backend: str,
                 workers: int, address: str | None, progress: Callable[[str, int], None] | None,
                 central_bank: Any = None) -> dict[tuple[int, int], Any]:
    """Every (entry, episode) task, locally, over local processes (``workers``), or over a Ray
    cluster (``backend="rllib"``). Each episode is seeded by its index alone, so the results do not
    depend on where it ran. ``central_bank``: a learned central bank playing in every episode."""
    args = [(env_cfg, entries[k].policy, entries[k].priority_model, seed + i, central_bank) for k, i in tasks]
    done: dict[int, int] = {}

    def record(j: int, _: Any) -> None:
        k = tasks[j][0]
        done[k] = done.get(k, 0) + 1
        if progress:
            progress(entries[k].name, done[k])

    return dict(zip(tasks, map_tasks(_episode, args, backend, workers, address, record)))


def metrics_table(metrics: dict[str, Any]) -> tuple[tuple[str, ...], list[tuple]]:
    headers = ("policy", "mean return", "± std", "default rate", "welfare", "interbank vol", "unmet funding",
               "fire-sale loss", "CB usage", "DebtRank max", "/".join(a[0] for a in ACTIONS) + " %")
    rows = []
    best = metrics.get("best_rule")
    exploit = metrics.get("exploitability")
    if exploit:  # the learned deviator's gain against each profile it was trained against
        headers += ("ε ± s.e.",)
    # under other priorities the return weighs the priority's own buffer term: the profit
    # component alone is what compares the variants (and every row) on one scale
    variants = "trained/rule_based" in metrics["policies"]
    if variants:
        headers += ("objective",)
    for name, m in metrics["policies"].items():
        freq = "/".join(f"{100 * v:.0f}" for v in m["action_frequency"].values())
        row = (
            name + (" (best rule)" if name == best else ""), m["mean_return"], m["std_return"], f"{m['default_rate']:.1%}",
            m["welfare"], m["interbank_volume"], f"{m['funding_unmet']:.1%}", m["fire_sale_losses"],
            m["central_bank_usage"], m["debtrank_max"], freq,
        )
        if exploit:
            e = exploit.get(name)
            row += (f"{e['epsilon']:+.4f} ± {e['stderr']:.4f}" if e else "",)
        if variants:
            row += (m["mean_objective"],)
        rows.append(row)
    return headers, rows


def seeds_table(metrics: dict[str, Any]) -> tuple[tuple[str, ...], list[tuple]]:
    """Mean ± std over training seeds per group, beside the best tuned rule."""
    headers = ("policy", "seeds", "mean return", "default rate", "welfare", "interbank vol")
    rows = []
    for group, s in (metrics.get("across_seeds") or {}).items():
        rows.append((group, len(s["runs"]), *(f"{s[k]['mean']:.3f} ± {s[k]['std']:.3f}"
                                              for k in ("mean_return", "default_rate", "welfare", "interbank_volume"))))
    best = metrics.get("best_rule")
    if best:
        m = metrics["policies"][best]
        rows.append((f"{best} (best rule)", "-", f"{m['mean_return']:.3f}", f"{m['default_rate']:.3f}", f"{m['welfare']:.3f}",
                     f"{m['interbank_volume']:.3f}"))
    return headers, rows

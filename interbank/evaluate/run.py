"""``interbank evaluate``: a checkpoint beside the baselines on the same seeded episodes.

Episode i uses seed ``seed + i`` for every policy, so each policy meets the same
networks, banks and shocks (the env draws its step noise whatever the actions).
Writes ``metrics.json`` (``policies`` -> name -> figures), ``metrics.csv`` (one row
per policy), and PNG plots; returns the metrics.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any


from interbank.config import EnvConfig, load_env_config, resolve_env_config
from interbank.envs import parallel_env
from interbank.evaluate.metrics import UNITS, aggregate
from interbank.policies import make_policy
from interbank.envs.priority import FixedPriority, priority_model_from_config
from interbank.policies.checkpoint import MLPPolicy, load_checkpoint
from interbank.run_folder import training_env_config
from interbank.sim.actions import PRIORITIES
from interbank.evaluate.episode import evaluate_episode

BASELINE_NAMES = ("random", "hold", "heuristic", "hoard", "lend_surplus")
CSV_COLUMNS = (
    "policy", "episodes", "mean_return", "std_return", "mean_objective", "default_rate", "mean_cascade_size", "max_cascade_size",
    "systemic_loss", "final_capital_ratio", "debtrank_max", "debtrank_mean",
    "return_profit", "return_liquidity", "return_stability",
)


def default_out(checkpoint_folder: Path | None) -> Path:
    if checkpoint_folder is not None:
        for parent in checkpoint_folder.parents[:3]:
            if (parent / "config.yaml").is_file():
                return parent / "eval"
    return Path("eval")


def evaluate(
    checkpoint: str | Path | None, episodes: int = 20, seed: int = 0, config: str | Path | None = None,
    banks: int | None = None, out: Path | None = None, baselines: tuple[str, ...] = BASELINE_NAMES,
    progress: Callable[[str, int], None] | None = None, plots: bool = True, priority_variants: bool = False,
    backend: str = "local", workers: int = 1, address: str | None = None,
) -> tuple[dict[str, Any], Path]:
    """Evaluate and write the report; returns (metrics, output folder).

    With a learned priority model in the checkpoint (or ``priority_variants``), the trained
    policy also runs under the rule-based priorities, the learned ones and each fixed priority,
    as ``trained/rule_based``, ``trained/learned``, ``trained/profit`` ... (``trained`` itself
    uses the learned model when there is one)."""
    entries: list[tuple[str, Any, Any]] = []
    folder = None
    learned = None
    if checkpoint is not None:
        trained, learned, folder = load_checkpoint(checkpoint)
        entries.append(("trained", trained, learned))
    entries += [(name, make_policy(name, seed), None) for name in baselines]
    if config is not None:
        env_cfg = load_env_config(config)
        source = str(config)
    else:
        trained_env = training_env_config(folder) if folder else None
        env_cfg = trained_env or EnvConfig()
        source = "training run config" if trained_env else "built-in default"
    if banks is not None:
        env_cfg = resolve_env_config(env_cfg, n_banks=banks)
    out = out or default_out(folder)
    if checkpoint is not None and (learned is not None or priority_variants):
        trained = entries[0][1]
        variants = [("trained/rule_based", trained, priority_model_from_config(env_cfg.priority))]
        if learned is not None:
            variants.append(("trained/learned", trained, learned))
        variants += [(f"trained/{p.lower()}", trained, FixedPriority(p)) for p in PRIORITIES]
        entries[1:1] = variants

    tasks = [(k, i) for k in range(len(entries)) for i in range(episodes)]
    episodes_out = run_episodes(env_cfg, entries, tasks, seed, backend, workers, address, progress)
    results: dict[str, dict[str, Any]] = {}
    for k, (name, _, _) in enumerate(entries):
        results[name] = aggregate([episodes_out[(k, i)] for i in range(episodes)])

    trained_meta = entries[0][1].meta if entries and isinstance(entries[0][1], MLPPolicy) else None
    metrics = {
        "checkpoint": str(folder) if folder else None,
        "trained_step": (trained_meta or {}).get("train", {}).get("step"),
        "trained_on": (trained_meta or {}).get("env"),
        "priority_model": "learned" if learned is not None else "rule_based",
        "env": {"source": source, "n_banks": env_cfg.n_banks, "max_steps": env_cfg.max_steps, "config_digest": env_cfg.digest()},
        "episodes": episodes,
        "seeds": [seed + i for i in range(episodes)],
        "units": UNITS,
        "policies": results,
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2, allow_nan=False) + "\n")
    with (out / "metrics.csv").open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(CSV_COLUMNS)
        for name, m in results.items():
            prio = m["return_by_priority"]
            writer.writerow([name, *(m[c] for c in CSV_COLUMNS[1:12]), prio["profit"], prio["liquidity"], prio["stability"]])
    if plots:
        from interbank.evaluate.plots import plot_all

        plot_all(results, out, f"{env_cfg.n_banks} banks, {episodes} episodes")
    return metrics, out


def _episode(args: tuple) -> Any:
    env_cfg, policy, priority_model, seed = args
    return evaluate_episode(parallel_env(env_cfg, priority_model=priority_model), policy, seed)


def run_episodes(env_cfg: EnvConfig, entries: list, tasks: list[tuple[int, int]], seed: int, backend: str, workers: int,
                 address: str | None, progress: Callable[[str, int], None] | None) -> dict[tuple[int, int], Any]:
    """Every (policy, episode) task, locally, over local processes (``workers``), or over a Ray
    cluster (``backend="rllib"``). Each episode is seeded by its index alone, so the results do not
    depend on where it ran."""
    args = [(env_cfg, entries[k][1], entries[k][2], seed + i) for k, i in tasks]
    out: dict[tuple[int, int], Any] = {}
    done: dict[int, int] = {}

    def record(task: tuple[int, int], result: Any) -> None:
        out[task] = result
        done[task[0]] = done.get(task[0], 0) + 1
        if progress:
            progress(entries[task[0]][0], done[task[0]])

    if backend == "rllib":
        from interbank.ray_cluster import connect

        ray = connect(address)
        remote = ray.remote(num_cpus=1)(_episode)
        refs = [remote.remote(a) for a in args]
        try:
            for task, ref in zip(tasks, refs):
                record(task, ray.get(ref))
        finally:
            ray.shutdown()
    elif workers > 1:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(max_workers=workers) as pool:
            for task, result in zip(tasks, pool.map(_episode, args, chunksize=max(1, len(args) // (8 * workers)))):
                record(task, result)
    else:
        for task, a in zip(tasks, args):
            record(task, _episode(a))
    return out


def metrics_table(metrics: dict[str, Any]) -> tuple[tuple[str, ...], list[tuple]]:
    headers = ("policy", "mean return", "± std", "objective", "default rate", "mean cascade", "max cascade", "systemic loss", "capital end/start", "DebtRank max")
    rows = []
    for name, m in metrics["policies"].items():
        rows.append((
            name, m["mean_return"], m["std_return"], m["mean_objective"], f"{m['default_rate']:.1%}", m["mean_cascade_size"],
            m["max_cascade_size"], f"{m['systemic_loss']:.1%}", m["final_capital_ratio"], m["debtrank_max"],
        ))
    return headers, rows

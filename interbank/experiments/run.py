"""Run an experiment and write ``results.csv``, ``results.json`` and PNG plots."""

from __future__ import annotations

import csv
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from interbank.config import EnvConfig  # noqa: E402
from interbank.experiments.config import GaiKapadiaConfig, NierConfig  # noqa: E402
from interbank.experiments.contagion import gai_kapadia, nier  # noqa: E402
from interbank.sim.debtrank import debtrank  # noqa: E402
from interbank.sim.system import BankingSystem  # noqa: E402

ZERO_RULE = {
    False: "a bank whose loss exactly equals its capital buffer (equity exactly 0) does not default; it defaults only when equity < 0",
    True: "a bank whose loss exactly equals its capital buffer (equity exactly 0) defaults",
}


def _write_csv(path: Path, columns: list[str], rows: list[dict[str, Any]]) -> None:
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(columns)
        for row in rows:
            writer.writerow([row[c] for c in columns])


def run_gai_kapadia(cfg: GaiKapadiaConfig, out: Path, workers: int = 2, progress: Callable[[int], None] | None = None) -> dict[str, Any]:
    started = time.perf_counter()
    result = gai_kapadia(cfg.banks, cfg.runs, cfg.degrees, cfg.seed, cfg.capital_ratio, cfg.interbank_share,
                         cfg.default_at_zero_equity, cfg.contagion_threshold, workers, progress)
    seconds = time.perf_counter() - started
    out.mkdir(parents=True, exist_ok=True)
    _write_csv(out / "results.csv", ["z", "runs", "frequency", "extent"], result["rows"])
    payload = {
        "experiment": "gai-kapadia", "parameters": cfg.model_dump(), "seed": cfg.seed,
        "equity_zero_rule": ZERO_RULE[cfg.default_at_zero_equity],
        "contagion": f"a run where at least {cfg.contagion_threshold:.0%} of banks default",
        "extent": "mean fraction of banks defaulting, over the runs with contagion",
        "analytic_window": {k: v for k, v in result["window"].items() if not k.startswith("curve")},
        "seconds": seconds, "rows": result["rows"],
    }
    (out / "results.json").write_text(json.dumps(payload, indent=2) + "\n")
    _plot_gk(result, cfg, out / "contagion.png")
    return payload


def _plot_gk(result: dict[str, Any], cfg: GaiKapadiaConfig, path: Path) -> None:
    rows = result["rows"]
    z = [r["z"] for r in rows]
    fig, ax = plt.subplots(figsize=(8, 4.5))
    w = result["window"]
    if w["z_low"] is not None:
        ax.axvspan(w["z_low"], min(w["z_high"], max(z) + 0.5), color="#cfe3f7", alpha=0.6,
                   label=f"analytic window ({w['z_low']:.2f} < z < {w['z_high']:.2f})")
    ax.plot(z, [r["frequency"] for r in rows], "o-", color="#1f77b4", label="frequency of contagion")
    ax.plot(z, [r["extent"] for r in rows], "s--", color="#d62728", label="extent of contagion (given contagion)")
    ax.set(xlabel="average degree z", ylabel="fraction", ylim=(-0.02, 1.05),
           title=f"Gai-Kapadia on interbank's core: {cfg.banks} banks, {cfg.runs} runs per z")
    ax.legend(loc="center right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def run_nier(cfg: NierConfig, out: Path, workers: int = 2, progress: Callable[[int], None] | None = None) -> dict[str, Any]:
    started = time.perf_counter()
    result = nier(cfg.banks, cfg.runs, cfg.probabilities, cfg.net_worths, cfg.seed, cfg.interbank_share, workers, progress)
    seconds = time.perf_counter() - started
    out.mkdir(parents=True, exist_ok=True)
    rows = [{k: v for k, v in r.items() if k != "defaults"} for r in result["rows"]]
    _write_csv(out / "results.csv", ["p", "net_worth", "runs", "mean_defaults"], rows)
    payload = {"experiment": "nier", "parameters": cfg.model_dump(), "seed": cfg.seed,
               "shock": "one random bank's external assets are wiped out; Eisenberg-Noe clearing",
               "seconds": seconds, "rows": rows}
    (out / "results.json").write_text(json.dumps(payload, indent=2) + "\n")

    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4.2))
    cmap = plt.get_cmap("viridis")
    for k, w in enumerate(cfg.net_worths):
        pts = [r for r in rows if r["net_worth"] == w]
        a1.plot([r["p"] for r in pts], [r["mean_defaults"] for r in pts], "o-", ms=3,
                color=cmap(k / max(1, len(cfg.net_worths) - 1)), label=f"net worth {w:.0%}")
    a1.set(xlabel="Erdos-Renyi probability p", ylabel="defaults (mean)", title="Defaults against connectivity")
    a1.legend(fontsize=8)
    for p in sorted({cfg.probabilities[len(cfg.probabilities) // 4], cfg.probabilities[len(cfg.probabilities) // 2]}):
        pts = [r for r in rows if r["p"] == p]
        a2.plot([100 * r["net_worth"] for r in pts], [r["mean_defaults"] for r in pts], "o-", label=f"p = {p:g}")
    a2.set(xlabel="net worth (% of assets)", ylabel="defaults (mean)", title="Defaults against capitalisation")
    a2.legend(fontsize=8)
    fig.suptitle(f"Nier et al. on interbank's core: {cfg.banks} banks, {cfg.runs} runs per point")
    fig.tight_layout()
    fig.savefig(out / "nier.png", dpi=110)
    plt.close(fig)
    return payload


def debtrank_table(config: EnvConfig, seed: int) -> list[dict[str, Any]]:
    """DebtRank of every bank of a scenario at reset (the function the evaluation uses)."""
    system = BankingSystem(config, record_events=False)
    system.reset(seed)
    eq = system.equity()
    dr = debtrank(system.lender, system.borrower, system.amount, eq)
    lo, bo = system.loans_out(), system.borrowings()
    rows = [{"bank": system.names[i], "debtrank": float(dr[i]), "equity": float(eq[i]),
             "interbank_assets": float(lo[i]), "interbank_liabilities": float(bo[i])} for i in range(system.n)]
    return sorted(rows, key=lambda r: -r["debtrank"])


def run_debtrank(config: EnvConfig, source: str, seed: int, out: Path) -> dict[str, Any]:
    rows = debtrank_table(config, seed)
    out.mkdir(parents=True, exist_ok=True)
    _write_csv(out / "results.csv", ["bank", "debtrank", "equity", "interbank_assets", "interbank_liabilities"], rows)
    payload = {"experiment": "debtrank", "scenario": source, "seed": seed, "n_banks": config.n_banks,
               "weights": "each bank's share of total equity", "rows": rows}
    (out / "results.json").write_text(json.dumps(payload, indent=2) + "\n")
    top = rows[: min(40, len(rows))]
    fig, ax = plt.subplots(figsize=(max(6, 0.25 * len(top) + 2), 4))
    ax.bar([r["bank"] for r in top], [r["debtrank"] for r in top], color="#1f77b4")
    ax.set(ylabel="DebtRank", title=f"DebtRank per bank ({source}, seed {seed})" + (" - top 40" if len(rows) > 40 else ""))
    ax.tick_params(axis="x", rotation=90, labelsize=7)
    fig.tight_layout()
    fig.savefig(out / "debtrank.png", dpi=110)
    plt.close(fig)
    return payload


__all__ = ["debtrank_table", "run_debtrank", "run_gai_kapadia", "run_nier", "np"]

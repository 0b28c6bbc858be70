"""PNG plots of an evaluation (matplotlib, no display needed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from interbank.sim.actions import ACTIONS, PRIORITIES  # noqa: E402

COLORS = {"trained": "#1f77b4", "random": "#ff7f0e", "hold": "#2ca02c", "heuristic": "#d62728"}


def _color(name: str, k: int) -> str:
    return COLORS.get(name, plt.get_cmap("tab20")(k % 20))


def plot_all(policies: dict[str, dict[str, Any]], out: Path, title: str) -> list[Path]:
    """Draw capital.png, default_rate.png, cascades.png, return_by_priority.png; return their paths."""
    paths = []
    names = list(policies)

    fig, ax = plt.subplots(figsize=(8, 4.5))
    for k, name in enumerate(names):
        path = policies[name]["capital_path"]
        x = np.arange(len(path["mean"]))
        ax.plot(x, path["mean"], label=name, color=_color(name, k))
        ax.fill_between(x, path["p10"], path["p90"], alpha=0.15, color=_color(name, k))
    ax.set(xlabel="step", ylabel="total capital of surviving banks ($)", title=f"Total capital (mean, 10-90% band) - {title}")
    ax.legend()
    fig.tight_layout()
    paths.append(out / "capital.png")
    fig.savefig(paths[-1], dpi=110)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(6, 4))
    rates = [policies[n]["default_rate"] for n in names]
    bars = ax.bar(names, rates, color=[_color(n, k) for k, n in enumerate(names)])
    ax.bar_label(bars, labels=[f"{r:.1%}" for r in rates])
    ax.set(ylabel="default rate", title=f"Default rate per policy - {title}")
    fig.tight_layout()
    paths.append(out / "default_rate.png")
    fig.savefig(paths[-1], dpi=110)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(7, 4))
    sizes = [policies[n]["cascade_sizes"] or [0] for n in names]
    top = max(max(s) for s in sizes)
    bins = np.arange(0.5, top + 1.5, 1.0)
    for k, (name, s) in enumerate(zip(names, sizes)):
        if policies[name]["cascade_sizes"]:
            ax.hist(s, bins=bins, histtype="step", linewidth=2, label=name, color=_color(name, k))
    ax.set(xlabel="banks defaulting in one cascade", ylabel="cascades", title=f"Cascade sizes - {title}")
    if any(policies[n]["cascade_sizes"] for n in names):
        ax.legend()
    else:
        ax.text(0.5, 0.5, "no cascades", transform=ax.transAxes, ha="center")
    fig.tight_layout()
    paths.append(out / "cascades.png")
    fig.savefig(paths[-1], dpi=110)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(7, 4))
    prios = [p.lower() for p in PRIORITIES]  # return_by_priority's keys
    width = 0.8 / len(names)
    for k, name in enumerate(names):
        vals = [policies[name]["return_by_priority"].get(p) for p in prios]
        ax.bar(np.arange(len(prios)) + k * width, [v if v is not None else 0.0 for v in vals], width, label=name, color=_color(name, k))
    ax.set_xticks(np.arange(len(prios)) + width * (len(names) - 1) / 2, [p.upper() for p in prios])
    ax.axhline(0, color="black", linewidth=0.5)
    ax.set(ylabel="mean reward per bank-step", title=f"Return by priority - {title}")
    ax.legend()
    fig.tight_layout()
    paths.append(out / "return_by_priority.png")
    fig.savefig(paths[-1], dpi=110)
    plt.close(fig)

    mixed = [n for n in names if policies[n]["priority_mix"]]
    if mixed:
        cols = min(3, len(mixed))
        rows = (len(mixed) + cols - 1) // cols
        fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 2.8 * rows), squeeze=False, sharey=True)
        for ax, name in zip(axes.ravel(), mixed):
            mix = np.array(policies[name]["priority_mix"])
            ax.stackplot(np.arange(1, len(mix) + 1), mix.T, labels=list(PRIORITIES),
                         colors=[PRIORITY_COLORS[p] for p in PRIORITIES])
            ax.set_title(name, fontsize=9)
            ax.set_ylim(0, 1)
        for ax in axes.ravel()[len(mixed):]:
            ax.axis("off")
        axes[0, 0].legend(loc="lower left", fontsize=7)
        fig.suptitle(f"Priority mix over time (share of live banks) - {title}")
        fig.tight_layout()
        paths.append(out / "priority_mix.png")
        fig.savefig(paths[-1], dpi=110)
        plt.close(fig)
    paths += plot_behaviour(policies, out, title)
    return paths


# colours by name; the plots list the actions and priorities in their own order (``interbank.sim.actions``)
ACTION_COLORS = {"LEND": "#2b8cbe", "BORROW": "#e34a33", "INVEST": "#31a354", "DIVEST": "#fdae6b", "HOLD": "#bdbdbd"}
PRIORITY_COLORS = {"PROFIT": "#3fb27f", "LIQUIDITY": "#4a90e2", "STABILITY": "#e0a33a"}


def plot_behaviour(policies: dict[str, dict[str, Any]], out: Path, title: str) -> list[Path]:
    """actions.png (what each policy does over time: share of live banks per action),
    intermediation.png (interbank volume and cash ratio over time) and system.png
    (welfare, unmet funding, fire-sale losses, central bank usage per policy)."""
    names = [n for n in policies if policies[n].get("action_path")]
    paths: list[Path] = []
    if not names:
        return paths
    cols = min(4, len(names))
    rows = (len(names) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(3.6 * cols, 2.6 * rows), squeeze=False, sharey=True)
    for ax, name in zip(axes.ravel(), names):
        path = np.array(policies[name]["action_path"])
        ax.stackplot(np.arange(1, len(path) + 1), path.T, labels=list(ACTIONS), colors=[ACTION_COLORS[a] for a in ACTIONS])
        ax.set_title(name, fontsize=9)
        ax.set_ylim(0, 1)
    for ax in axes.ravel()[len(names):]:
        ax.axis("off")
    # one legend below the panels: a stack plot fills its panel, so a legend inside covers the data
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=len(labels), fontsize=7, frameon=False)
    for ax in axes[-1]:
        ax.set_xlabel("step")
    fig.suptitle(f"Actions over time (share of live banks) - {title}")
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    paths.append(out / "actions.png")
    fig.savefig(paths[-1], dpi=110)
    plt.close(fig)

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    for k, name in enumerate(names):
        vol, cash = policies[name]["volume_path"], policies[name]["cash_path"]
        ax1.plot(np.arange(len(vol)), vol, label=name, color=_color(name, k))
        ax2.plot(np.arange(len(cash)), cash, label=name, color=_color(name, k))
    ax1.set(xlabel="step", ylabel="interbank loans / initial", title="Interbank volume (intermediation)")
    ax2.set(xlabel="step", ylabel="mean cash / assets", title="Cash ratio (hoarding shows here)")
    ax1.legend(fontsize=7)
    fig.suptitle(title)
    fig.tight_layout()
    paths.append(out / "intermediation.png")
    fig.savefig(paths[-1], dpi=110)
    plt.close(fig)

    keys = [("welfare", "welfare (end / start)"), ("funding_unmet", "funding unmet / requested"),
            ("fire_sale_losses", "fire-sale losses / equity"), ("central_bank_usage", "central bank lent / equity")]
    fig, axes = plt.subplots(1, len(keys), figsize=(3.4 * len(keys), 3.6))
    for ax, (key, label) in zip(axes, keys):
        vals = [policies[n].get(key, 0.0) for n in names]
        ax.bar(range(len(names)), vals, color=[_color(n, k) for k, n in enumerate(names)])
        ax.set_xticks(range(len(names)), names, rotation=60, ha="right", fontsize=7)
        ax.set_title(label, fontsize=9)
    fig.suptitle(f"System-level figures - {title}")
    fig.tight_layout()
    paths.append(out / "system.png")
    fig.savefig(paths[-1], dpi=110)
    plt.close(fig)
    return paths


def plot_deviations(deviations: dict[str, Any], out: Path, title: str) -> Path:
    """deviations.png: for each base profile (row) and deviation (column), the z-score of one
    bank's gain from switching (blue: it loses, red: it gains); cells that pass the corrected
    test are outlined. An equilibrium is a row with no outlined cell."""
    bases = list(deviations)
    cols = list(dict.fromkeys(d for r in deviations.values() for d in r["deviations"]))
    z = np.full((len(bases), len(cols)), np.nan)
    for i, b in enumerate(bases):
        for j, d in enumerate(cols):
            if d in deviations[b]["deviations"]:
                value = deviations[b]["deviations"][d]["z"]
                z[i, j] = np.inf if value is None else value  # None: a gain without spread
    fig, ax = plt.subplots(figsize=(max(6.0, 0.32 * len(cols) + 3), 0.45 * len(bases) + 2.6))
    image = ax.imshow(np.clip(z, -6, 6), cmap="RdBu_r", vmin=-6, vmax=6, aspect="auto")
    for i, b in enumerate(bases):
        for d in deviations[b]["paying"]:
            j = cols.index(d)
            ax.add_patch(plt.Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, edgecolor="black", linewidth=2))
    ax.set_xticks(range(len(cols)), cols, rotation=70, ha="right", fontsize=7)
    ax.set_yticks(range(len(bases)), [f"all play {b}" for b in bases], fontsize=8)
    fig.colorbar(image, ax=ax, label="z of one bank's gain (clipped at ±6)")
    ax.set_title(f"Unilateral deviations (outlined: it pays, corrected 5% test) - {title}", fontsize=9)
    fig.tight_layout()
    path = out / "deviations.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_exploitability(exploit: dict[str, Any], out: Path, title: str) -> Path:
    """exploitability.png: for each profile, the learned deviator's gain (± 1 s.e.) against its
    training budget (0: the warm start alone, the profile itself). The last point is the
    profile's measured epsilon; a curve still rising says a longer budget would find more."""
    fig, ax = plt.subplots(figsize=(7, 4.2))
    for k, (name, r) in enumerate(exploit.items()):
        x = np.array([c["timesteps"] for c in r["curve"]], dtype=float)
        y = np.array([c["gain"] for c in r["curve"]])
        e = np.array([c["stderr"] for c in r["curve"]])
        color = plt.get_cmap("tab10")(k % 10)
        ax.errorbar(x, y, yerr=e, marker="o", capsize=3, color=color,
                    label=f"{name}: ε = {r['epsilon']:+.4f} ± {r['stderr']:.4f}")
    ax.axhline(0.0, color="grey", linewidth=0.8)
    ax.set(xlabel="the deviator's training budget (its decisions)", ylabel="lone deviator's gain (summed reward)",
           title=f"Learned deviators: exploitability ε - {title}")
    ax.title.set_fontsize(9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    path = out / "exploitability.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path

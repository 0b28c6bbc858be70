"""PNG plot of the central banks' instruments over time beside funding stress (the Lucas-critique
judgement, ``interbank.evaluate.central_bank_critique``)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

PANELS = (("policy_rate", "policy rate", 100.0, "%"), ("ccyb", "countercyclical buffer", 100.0, "% of RWA"),
          ("haircuts", "haircut scale", 1.0, "x configured"), ("funding_demand", "funding stress", 1.0, "demand share"))
STYLES = {"trained": "-", "retrained": "--"}


def plot_instruments(traces: dict[str, dict[str, dict[str, dict[str, list[float]]]]], out: Path, title: str) -> Path:
    """One row per central bank: its policy rate, buffer and haircuts, and funding stress (funding
    demand / (demand + supply)), mean over seeds and episodes, with the banks trained under it (solid)
    and re-trained under it (dashed). Writes ``out/central_bank_instruments.png``."""
    names = list(traces)
    fig, axes = plt.subplots(len(names), len(PANELS), figsize=(3.2 * len(PANELS), 2.2 * len(names) + 0.6),
                             squeeze=False, sharex=True)
    for i, name in enumerate(names):
        for j, (key, label, scale, unit) in enumerate(PANELS):
            ax = axes[i][j]
            for banks, by_seed in traces[name].items():
                paths = [p[key] for p in by_seed.values()]
                length = min(len(p) for p in paths)
                mean = np.mean([p[:length] for p in paths], axis=0) * scale
                ax.plot(np.arange(length), mean, STYLES.get(banks, ":"), label=f"banks {banks}")
            if i == 0:
                ax.set_title(f"{label} ({unit})", fontsize=9)
            if j == 0:
                ax.set_ylabel(name)
            if i == len(names) - 1:
                ax.set_xlabel("step")
    axes[0][0].legend(fontsize=7)
    fig.suptitle(f"Central bank instruments beside funding stress - {title}", fontsize=10)
    fig.tight_layout()
    path = Path(out) / "central_bank_instruments.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path

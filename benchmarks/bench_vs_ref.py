"""The core step against the bare numpy sketch (``../shared/bench/ref_kernel.py``), in one process.

    .venv/bin/python benchmarks/bench_vs_ref.py [--banks 10000] [--repeat 3] [--seconds 3] [--busy]

For each repeat, times the sketch for about ``--seconds`` and then ``interbank bench``'s core step
(events off, random valid actions) for as long, alternating, so that both meet the same machine
load; reports bank-steps per second of each and their ratio (median over the repeats) and writes
benchmarks/results/vs_ref.json (with the commit and the machine's load; the runs recorded there
before are kept under ``earlier``, newest first). The target (issue 19): at 10,000 banks at least
0.4 of the sketch.

``--busy`` runs a neighbour beside the measurements: a process copying a 128 MB array in a loop (on
a 2-core machine, the other core), which takes memory bandwidth and shared cache as another tenant
would; the runs go to benchmarks/results/vs_ref_busy.json instead. The core makes many passes over
10,000-bank and ledger-sized arrays, the sketch few: a busy machine costs the core more.
Skips with a message when the sketch is not beside the checkout.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

from interbank.bench import run_bench

ROOT = Path(__file__).resolve().parents[1]
REF = ROOT.parent / "shared" / "bench" / "ref_kernel.py"


def load_ref():
    spec = importlib.util.spec_from_file_location("ref_kernel", REF)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def commit() -> str | None:
    """The checkout's commit (None outside a git checkout)."""
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              check=True).stdout.strip() or None
    except (OSError, subprocess.CalledProcessError):
        return None


def _earlier(path: Path) -> list[dict]:
    """The runs recorded in ``path`` so far, newest first (the last record, then its ``earlier``)."""
    try:
        last = json.loads(path.read_text())
    except (OSError, ValueError):
        return []
    return [{k: v for k, v in last.items() if k != "earlier"}] + list(last.get("earlier", []))


NEIGHBOUR = "import numpy as np\na = np.ones(1 << 24); b = np.empty_like(a)\nwhile True:\n    np.copyto(b, a)\n"
"""``--busy``'s neighbour: 128 MB copied again and again (more than any cache holds)."""


@contextmanager
def neighbour(busy: bool):
    """A process copying memory in a loop while the block runs (nothing when not ``busy``)."""
    proc = subprocess.Popen([sys.executable, "-c", NEIGHBOUR]) if busy else None
    try:
        yield
    finally:
        if proc is not None:
            proc.kill()
            proc.wait()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--banks", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--busy", action="store_true", help="measure beside a memory-copying neighbour process")
    args = parser.parse_args()
    if not REF.exists():
        print(f"bench_vs_ref: {REF} not found; nothing to compare with")
        return 0
    ref = load_ref()
    n = args.banks
    rows = []
    with neighbour(args.busy):
        ref.run("np", n, 0.3)  # warm up
        for k in range(args.repeat):
            _, stats, dt = ref.run("np", n, args.seconds, seed=k)
            sketch = n * stats["steps"] / dt
            steps = max(5, int(args.seconds * sketch / n / 4))  # the core is slower: about as long in time
            core = run_bench([n], steps, repeat=1, parts=("core",))[0]["core_bank_steps_per_s"]
            rows.append({"sketch_bank_steps_per_s": sketch, "core_bank_steps_per_s": core, "ratio": core / sketch})
            print(json.dumps(rows[-1]), flush=True)
    result = {"banks": n, "commit": commit(), "load_1_5_15": [round(x, 2) for x in os.getloadavg()],
              "busy": args.busy, "runs": rows, "median_ratio": statistics.median(r["ratio"] for r in rows)}
    out = ROOT / "benchmarks" / "results" / ("vs_ref_busy.json" if args.busy else "vs_ref.json")
    earlier = _earlier(out)
    # the runs made elsewhere (by hand, on other machines) stay on top, whatever this machine read
    independent = next((r["independent_measurements"] for r in earlier if "independent_measurements" in r), None)
    if independent is not None:
        result["independent_measurements"] = independent
        for r in earlier:
            r.pop("independent_measurements", None)
    result["earlier"] = earlier
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"{n} banks: the core runs at {result['median_ratio']:.2f} of the sketch (median of {args.repeat})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

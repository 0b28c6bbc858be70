"""Run the whole suite N times quiet and N times beside busy processes; list every test that failed.

    .venv/bin/python tests/flaky.py [--runs 5] [--busy 2] [--out test-artifacts/flaky.json] [-- PYTEST ARGS]

`make flaky` runs it with the defaults. Each run is `python -m pytest -n 2` (the README's test command)
with a JUnit report of its own; a "busy" run first starts ``--busy`` processes that spin a core each
(`yes > /dev/null`) and stops them after. The report lists, per test that failed at least once, in
how many quiet and busy runs it failed, and the exit status is 1 if any did (0 otherwise).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Run:
    """One run of the suite: ``busy`` spinners beside it, its wall time (s), its exit status, and
    the tests that failed or errored (``file::name``)."""

    index: int
    busy: int
    seconds: float
    returncode: int
    tests: int = 0
    failed: list[str] = field(default_factory=list)


def failures(report: Path) -> tuple[int, list[str]]:
    """(tests run, ids of the failed or errored) from a JUnit XML report."""
    root = ET.parse(report).getroot()
    total, failed = 0, []
    for case in root.iter("testcase"):
        total += 1
        if case.find("failure") is not None or case.find("error") is not None:
            failed.append(f"{case.get('classname', '')}::{case.get('name', '')}")
    return total, failed


def run_once(index: int, busy: int, pytest_args: list[str], reports: Path) -> Run:
    spinners = [subprocess.Popen("yes > /dev/null", shell=True, start_new_session=True) for _ in range(busy)]
    report = reports / f"run-{index}-{'busy' if busy else 'quiet'}.xml"
    started = time.perf_counter()
    try:
        done = subprocess.run([sys.executable, "-m", "pytest", "-n", "2", "-q", "-p", "no:cacheprovider",
                               f"--junitxml={report}", *pytest_args], cwd=ROOT)
    finally:
        for proc in spinners:
            subprocess.run(["pkill", "-g", str(proc.pid)], check=False)
            proc.wait()
    run = Run(index, busy, time.perf_counter() - started, done.returncode)
    if report.exists():
        run.tests, run.failed = failures(report)
    elif done.returncode != 0:
        run.failed = [f"(pytest exited {done.returncode} without a report)"]
    return run


def summary(runs: list[Run]) -> dict[str, dict[str, int]]:
    """Per failing test: in how many quiet and busy runs it failed."""
    out: dict[str, dict[str, int]] = {}
    for run in runs:
        for test in run.failed:
            row = out.setdefault(test, {"quiet": 0, "busy": 0})
            row["busy" if run.busy else "quiet"] += 1
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5, help="runs of the suite, quiet and again busy (default 5)")
    parser.add_argument("--busy", type=int, default=2, help="spinning processes beside a busy run (default 2)")
    parser.add_argument("--out", type=Path, default=ROOT / "test-artifacts" / "flaky.json", help="the JSON report")
    parser.add_argument("pytest_args", nargs="*", help="passed on to pytest (after --)")
    args = parser.parse_args()
    if args.runs < 1 or args.busy < 0:
        parser.error("--runs must be at least 1 and --busy at least 0")
    reports = args.out.parent / "flaky-junit"
    reports.mkdir(parents=True, exist_ok=True)
    runs: list[Run] = []
    for busy in (0, args.busy):
        for k in range(args.runs):
            run = run_once(len(runs), busy, args.pytest_args, reports)
            runs.append(run)
            state = f"busy ({busy} spinning)" if busy else "quiet"
            print(f"flaky: run {k + 1}/{args.runs} {state}: {run.tests} tests, {len(run.failed)} failed, "
                  f"{run.seconds:.0f} s", flush=True)
    table = summary(runs)
    args.out.write_text(json.dumps({"runs": [asdict(r) for r in runs], "failed": table}, indent=1) + "\n")
    if not table:
        print(f"flaky: no test failed in {args.runs} quiet and {args.runs} busy runs ({args.out})")
        return 0
    print(f"flaky: {len(table)} test(s) failed at least once ({args.out}):")
    width = max(len(t) for t in table)
    print(f"  {'test':<{width}}  quiet  busy")
    for test, row in sorted(table.items()):
        print(f"  {test:<{width}}  {row['quiet']:>5}  {row['busy']:>4}")
    return 1


if __name__ == "__main__":
    sys.exit(main())

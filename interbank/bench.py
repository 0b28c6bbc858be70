"""Throughput benchmarks of the core step and of the PettingZoo API (``interbank bench``).

Bank-steps per second = banks x steps / seconds spent inside the step (the
random valid actions are drawn outside the timed region), in the default scenario
(``configs/default.yaml``'s settings, its network generator included: the size-ranked
fitness network since env v3, Erdos-Renyi before) at ``avg_degree`` links per bank. The core is timed
with the event stream off (as in training) and on (events built and drained);
the API through ``InterbankEnv.step`` with its dicts.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

from interbank.config import resolve_env_config
from interbank.envs import parallel_env
from interbank.sim.system import BankingSystem


def bench_config(n: int, steps: int, seed: int, avg_degree: float):
    """The scenario a size is timed in: the default one with ``n`` banks at ``avg_degree`` links a
    bank, long enough for ``steps``; a bad value is a one-line ``ConfigError``."""
    return resolve_env_config(n_banks=n, max_steps=steps + 1, seed=seed, **{"network.avg_degree": avg_degree})


def random_valid_actions(draw: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``np.argmax(draw * mask, axis=1)`` (the first largest allowed draw per bank, 0 when none is
    allowed), computed a column at a time: the same actions, without numpy's slow reductions over
    a 5-wide axis."""
    best = draw[:, 0] * mask[:, 0]
    pick = np.zeros(draw.shape[0], np.int64)
    for j in range(1, draw.shape[1]):
        value = draw[:, j] * mask[:, j]
        higher = value > best
        pick[higher] = j
        np.maximum(best, value, out=best)
    return pick


def bench_core(n: int, steps: int, events: bool, seed: int = 0, avg_degree: float = 5.0) -> float:
    """Bank-steps per second of ``BankingSystem.step`` (the action mask included; the pick of
    random valid actions from it left out)."""
    system = BankingSystem(bench_config(n, steps, seed, avg_degree), record_events=events)
    system.reset(seed)
    rng = np.random.default_rng(seed)
    elapsed, done = 0.0, 0
    for _ in range(steps):
        draw = rng.random((n, 5))
        t0 = time.perf_counter()
        mask = system.action_mask()  # part of the step's cost (the figures it computes are shared with the step)
        t1 = time.perf_counter()
        actions = random_valid_actions(draw, mask)  # the benchmark's own policy: not timed
        t2 = time.perf_counter()
        system.step(actions)
        if events:
            system.log.drain()
        elapsed += (t1 - t0) + (time.perf_counter() - t2)
        done += 1
        if system.done:
            break
    return n * done / elapsed


def bench_api(n: int, steps: int, seed: int = 0, avg_degree: float = 5.0) -> float:
    """Bank-steps per second of ``InterbankEnv.step`` with dict actions."""
    env = parallel_env(bench_config(n, steps, seed, avg_degree))
    env.reset(seed=seed)
    rng = np.random.default_rng(seed)
    elapsed, bank_steps = 0.0, 0
    for _ in range(steps):
        if not env.agents:
            break
        idx = [env.agent_index[a] for a in env.agents]
        acts = np.argmax(rng.random((len(idx), 5)) * env.action_mask_array()[idx], axis=1)
        actions = dict(zip(env.agents, acts.tolist()))
        t0 = time.perf_counter()
        env.step(actions)
        elapsed += time.perf_counter() - t0
        bank_steps += len(idx)
    return bank_steps / elapsed


PARTS: tuple[str, ...] = ("core", "events", "api")


def run_bench(
    sizes: list[int], steps: int, seed: int = 0, avg_degree: float = 5.0, repeat: int = 1,
    progress: Callable[[str], None] | None = None, parts: tuple[str, ...] = PARTS,
) -> list[dict[str, Any]]:
    """Median over ``repeat`` runs of each figure in ``parts`` (``core``: the step with events
    off; ``events``: with events built and drained; ``api``: ``InterbankEnv.step`` with dicts),
    for each size. Figures not measured are None, so a large size can be timed for the core alone."""
    unknown = set(parts) - set(PARTS)
    if unknown or not parts:
        raise ValueError(f"parts must be some of {', '.join(PARTS)}, got {', '.join(parts) or 'none'}")
    timers = {
        "core": lambda n: bench_core(n, steps, False, seed, avg_degree),
        "events": lambda n: bench_core(n, steps, True, seed, avg_degree),
        "api": lambda n: bench_api(n, steps, seed, avg_degree),
    }
    rows = []
    for n in sizes:
        figures: dict[str, list[float]] = {p: [] for p in parts}
        for r in range(repeat):
            if progress:
                progress(f"{n} banks, run {r + 1}/{repeat}")
            for part in PARTS:
                if part in figures:
                    figures[part].append(timers[part](n))
        med = {p: float(np.median(v)) for p, v in figures.items()}
        api = med.get("api")
        rows.append({
            "banks": n, "steps": steps,
            "core_bank_steps_per_s": med.get("core"),
            "core_events_bank_steps_per_s": med.get("events"),
            "api_bank_steps_per_s": api,
            "api_us_per_bank_step": 1e6 / api if api else None,
        })
    return rows

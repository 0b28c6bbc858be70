"""Agent-steps per second of interbank (20 and 100 banks) and MPE ``simple_spread`` (20 agents, package
``mpe2``) under each client library's own PettingZoo wrapper; writes benchmarks/results/clients.json.

    OMP_NUM_THREADS=1 python benchmarks/bench_clients.py [--steps 200] [--repeat 3] [--out FILE]

SuperSuit, TorchRL, RLlib and mpe2 share one environment (``pip install -e '.[test,ray,bench]'``); AgileRL
needs its own (``make compat``: ``.venv-compat`` has mpe2 too), so its row comes from a second run there,
written to its own file (``--out benchmarks/results/clients_agilerl.json``) with that run's baseline rows.

Every client builds its wrapper, then steps it (timed) with uniformly random valid actions (masked ones excluded where the env
gives a mask), resetting at the end of an episode; an agent-step is one live agent's step. A client whose
library is not installed is reported as such. Same process, same thread settings (torch: 1 thread) for
every row, so the ratios are comparable; the machine is noisy, so medians of ``--repeat`` runs.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

os.environ.setdefault("OMP_NUM_THREADS", "1")

Factory = Callable[[bool], object]  # flat observation? -> a PettingZoo ParallelEnv


def interbank(n: int) -> Factory:
    from interbank.envs import parallel_env

    return lambda flat: parallel_env("configs/stress.yaml", n_banks=n, max_cycles=100, seed=0, flat_observation=flat)


def simple_spread(n: int) -> Factory:
    from mpe2 import simple_spread_v3

    return lambda flat: simple_spread_v3.parallel_env(N=n, max_cycles=100, continuous_actions=False)


def _random_actions(env, obs, infos, rng) -> dict:
    out = {}
    for a in env.agents:
        mask = None
        if isinstance(obs.get(a), dict) and "action_mask" in obs[a]:
            mask = obs[a]["action_mask"]
        elif isinstance(infos.get(a), dict) and "action_mask" in infos[a]:
            mask = infos[a]["action_mask"]
        n = env.action_space(a).n
        out[a] = int(rng.choice(np.flatnonzero(mask))) if mask is not None else int(rng.integers(n))
    return out


def _random_steps(env, par, steps: int) -> tuple[int, float]:
    """Steps ``env`` (a parallel-API env: PettingZoo's own, or a wrapper around the PettingZoo env ``par``)
    ``steps`` times with random valid actions, resetting at the end of an episode; (agent-steps, seconds)."""
    rng, done = np.random.default_rng(0), 0
    obs, infos = env.reset(seed=0)
    t0 = time.perf_counter()
    for _ in range(steps):
        if not par.agents:
            obs, infos = env.reset()
        done += len(par.agents)
        obs, _, _, _, infos = env.step(_random_actions(par, obs, infos, rng))
    return done, time.perf_counter() - t0


def raw(make: Factory, steps: int) -> tuple[int, float]:
    """The PettingZoo parallel API itself: the baseline every wrapper adds to."""
    env = make(False)
    return _random_steps(env, env, steps)


def supersuit(make: Factory, steps: int) -> tuple[int, float]:
    """SuperSuit's black_death + pettingzoo_env_to_vec_env + concat_vec_envs (SB3's vector env)."""
    import supersuit as ss

    env = ss.black_death_v3(make(True))
    n = len(env.possible_agents)
    vec = ss.concat_vec_envs_v1(ss.pettingzoo_env_to_vec_env_v1(env), 1, num_cpus=0, base_class="stable_baselines3")
    vec.reset()
    rng = np.random.default_rng(0)
    n_actions = vec.action_space.n
    t0 = time.perf_counter()
    for _ in range(steps):
        vec.step(rng.integers(n_actions, size=n))
    elapsed = time.perf_counter() - t0
    vec.close()
    return steps * n, elapsed  # black_death keeps every slot stepping


def torchrl(make: Factory, steps: int) -> tuple[int, float]:
    """TorchRL's PettingZooWrapper (use_mask, done_on_any=False) stepped by ``rollout`` with random actions."""
    from torchrl.envs import PettingZooWrapper

    env = PettingZooWrapper(make(True), use_mask=True, done_on_any=False, categorical_actions=True, seed=0)
    t0 = time.perf_counter()
    td = env.rollout(steps, break_when_any_done=False)
    elapsed = time.perf_counter() - t0
    return int(sum(td[g, "mask"].sum() for g in env.group_map)), elapsed  # agents live at each step


def rllib(make: Factory, steps: int) -> tuple[int, float]:
    """RLlib's ParallelPettingZooEnv, stepped directly as its env runners do."""
    from ray.rllib.env.wrappers.pettingzoo_env import ParallelPettingZooEnv

    env = ParallelPettingZooEnv(make(False))
    return _random_steps(env, env.par_env, steps)


def agilerl(make: Factory, steps: int) -> tuple[int, float]:
    """AgileRL's PzDummyVecEnv (what its training loop wraps a ParallelEnv in)."""
    from agilerl.vector import PzDummyVecEnv

    base = make(True)
    vec, rng, done = PzDummyVecEnv(base), np.random.default_rng(0), 0
    vec.reset(seed=0)
    t0 = time.perf_counter()
    for _ in range(steps):
        live = list(base.agents) or list(base.possible_agents)
        done += len(live)
        actions = {a: np.array([rng.integers(base.action_space(a).n)]) for a in base.possible_agents}
        vec.step(actions)
    return done, time.perf_counter() - t0


CLIENTS: dict[str, tuple[Callable[[Factory, int], tuple[int, float]], str]] = {
    "pettingzoo (raw)": (raw, "pettingzoo"),
    "supersuit + sb3 vec env": (supersuit, "supersuit"),
    "torchrl PettingZooWrapper": (torchrl, "torchrl"),
    "rllib ParallelPettingZooEnv": (rllib, "ray"),
    "agilerl PzDummyVecEnv": (agilerl, "agilerl"),
}


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


def _version(module: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version({"ray": "ray", "supersuit": "SuperSuit"}.get(module, module))
    except PackageNotFoundError:
        return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=200, help="env steps per measurement")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "clients.json"))
    args = parser.parse_args()
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:
        pass
    envs: dict[str, Factory] = {"interbank 20 banks": interbank(20), "interbank 100 banks": interbank(100)}
    if _installed("mpe2"):
        envs["mpe2 simple_spread N=20"] = simple_spread(20)
    rows = []
    for client, (run, module) in CLIENTS.items():
        if not _installed(module):
            rows.append({"client": client, "installed": False})
            print(f"{client}: not installed")
            continue
        row = {"client": client, "installed": True, "version": _version(module)}
        for env_name, make in envs.items():
            rates = []
            for _ in range(args.repeat):
                agent_steps, seconds = run(make, args.steps)  # stepping only, construction excluded
                rates.append(agent_steps / seconds)
            row[env_name] = round(statistics.median(rates))
        if "mpe2 simple_spread N=20" in row:
            row["interbank 20 / simple_spread 20"] = round(row["interbank 20 banks"] / row["mpe2 simple_spread N=20"], 2)
        rows.append(row)
        print(json.dumps(row))
    out = Path(args.out)
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"machine": platform.processor() or platform.machine(), "steps": args.steps,
                               "repeat": args.repeat, "rows": rows}, indent=2))


if __name__ == "__main__":
    main()

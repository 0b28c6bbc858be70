"""``BankVecEnv``'s env copies stepped in worker processes (``train.env_workers``).

The copies are split into ``workers`` contiguous groups; each worker process holds a
``BankVecEnv`` over its group (copy k keeps seed ``seed + k`` and its priority model
``priority_factory(k)``), so every copy computes exactly what it computes in one process and the
slots come back in the same order: a training run gives the same weights with any number of
workers. PPO (the forward pass and the updates) stays in the main process, which sends each
worker its slots' actions and reads back observations, masks, rewards, dones, infos and
finished episodes' statistics through a pipe (a few tens of kilobytes a step at 20 banks, small
beside a group's step).

Workers are started with ``fork`` (a copy's priority model may be any callable); the opponent
pool (``train.opponents``) needs the snapshots PPO takes in the main process and is refused.
"""

from __future__ import annotations

import multiprocessing as mp
from collections import deque
from collections.abc import Callable
from typing import Any

import numpy as np

from interbank.config import EnvConfig
from interbank.sim.actions import N_ACTIONS
from interbank.train.vec_env import UnwrappedVecEnv


def _groups(n_envs: int, workers: int) -> list[range]:
    """Contiguous groups of copies, as even as can be (the first ones one larger)."""
    size, extra = divmod(n_envs, workers)
    out, start = [], 0
    for w in range(workers):
        stop = start + size + (w < extra)
        out.append(range(start, stop))
        start = stop
    return out


def _serve(conn, config: EnvConfig, copies: range, seed: int, priority_factory: Callable | None,
           global_state: bool) -> None:
    """A worker: a ``BankVecEnv`` over ``copies``, answering the main process's commands."""
    from interbank.train.vec_env import BankVecEnv

    first = copies.start
    factory = (lambda j: priority_factory(first + j)) if priority_factory else None
    vec = BankVecEnv(config, len(copies), seed + first, factory, global_state=global_state)
    while True:
        try:
            cmd, arg = conn.recv()
        except (EOFError, KeyboardInterrupt):
            return
        try:
            if cmd == "close":
                vec.close()
                conn.send(("ok", None))
                return
            conn.send(("ok", _answer(vec, cmd, arg)))
        except KeyboardInterrupt:
            return
        except Exception as err:  # noqa: BLE001 - the main process raises it, the worker goes on
            conn.send(("error", (type(err).__name__, f"env worker for copies {first}-{copies.stop - 1}: {type(err).__name__}: {err}")))


def _answer(vec, cmd: str, arg: Any) -> Any:
    """What a worker sends back for one command of the main process."""
    if cmd == "step":
        vec.step_async(arg)
        seen = vec.episodes_finished
        obs, rewards, dones, infos = vec.step_wait()
        new = vec.episodes_finished - seen
        stats = list(vec.episode_stats)[-new:] if new else []
        return (obs, rewards, dones, {i: info for i, info in enumerate(infos) if info}, vec._masks,
                vec.padding, vec.acted_padding, stats)
    if cmd == "reset":
        vec._seeds = arg  # per copy: the seed of its next reset (None: go on)
        return vec.reset(), vec._masks, vec.padding, vec.acted_padding
    if cmd == "call":
        name, args, kwargs = arg
        return vec.env_method(name, *args, **kwargs)
    if cmd == "get_attr":
        return [getattr(env, arg) for env in vec.envs]
    raise ValueError(f"unknown command {cmd!r}")


class WorkerError(RuntimeError):
    """An env copy raised in its worker process: ``kind`` is the error's class name, the message
    names the copies and the error."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


class WorkerBankVecEnv(UnwrappedVecEnv):
    """``BankVecEnv`` (same slots, seeds, padding, masks, statistics) with its ``n_envs`` copies
    stepped in ``workers`` processes. Fields read by training: ``padding``, ``acted_padding``
    (bool[num_envs]), ``episode_stats`` (the last 1,000 finished episodes, in copy order),
    ``episodes_finished``; ``opponent`` is always None per copy (no opponent pool here)."""

    def __init__(self, config: EnvConfig, n_envs: int, seed: int = 0, priority_factory=None,
                 global_state: bool = False, workers: int = 2) -> None:
        if not 1 <= workers <= n_envs:
            raise ValueError(f"train.env_workers = {workers} must be between 1 and train.n_envs ({n_envs})")
        if "fork" not in mp.get_all_start_methods():
            raise ValueError("train.env_workers > 1 needs the fork start method (Linux, macOS); set env_workers: 1")
        from interbank.train.vec_env import BankVecEnv

        probe = BankVecEnv(config, 1, seed, priority_factory, global_state=global_state)  # the spaces, in this process
        self.n_banks = config.n_banks
        self.seed_base = seed
        self.groups = _groups(n_envs, workers)
        ctx = mp.get_context("fork")
        self._conns, self._procs = [], []
        for copies in self.groups:
            parent, child = ctx.Pipe()
            proc = ctx.Process(target=_serve, args=(child, config, copies, seed, priority_factory, global_state), daemon=True)
            proc.start()
            child.close()
            self._conns.append(parent)
            self._procs.append(proc)
        self._closed = False
        super().__init__(n_envs * self.n_banks, probe.observation_space, probe.action_space)  # reads render_mode from the workers
        probe.close()
        n = self.num_envs
        self._masks = np.zeros((n, N_ACTIONS), bool)
        self.padding = np.zeros(n, bool)
        self.acted_padding = np.zeros(n, bool)
        self._actions = np.zeros(n, np.int64)
        self._started = False
        self.episode_stats: deque[dict[str, float]] = deque(maxlen=1000)
        self.episodes_finished = 0
        self.pool = None
        self.opponent: list = [None] * n_envs

    def _recv(self, conn) -> Any:
        status, value = conn.recv()
        if status == "error":
            raise WorkerError(*value)
        return value

    def _answers(self) -> list[Any]:
        """Every worker's answer to the command just sent, in order; a worker's error is raised
        after all are read, so the pipes stay in step for the next command."""
        answers = [conn.recv() for conn in self._conns]
        for status, value in answers:
            if status == "error":
                raise WorkerError(*value)
        return [value for _, value in answers]

    def _slots(self, copies: range) -> slice:
        return slice(copies.start * self.n_banks, copies.stop * self.n_banks)

    def _copy_seed(self, k: int) -> int | None:
        """As ``SlotVecEnv._copy_seed``: ``seed()``'s seed for copy k, else ``seed_base + k`` the first time."""
        if self._seeds and self._seeds[k] is not None:
            return self._seeds[k]
        return self.seed_base + k if not self._started else None

    def attach_pool(self, pool, banks: int, seed: int) -> None:
        raise ValueError("train.opponents: the opponent pool runs in one process; set train.env_workers: 1")

    # ---------------------------------------------------------------- VecEnv
    def reset(self) -> np.ndarray:
        for conn, copies in zip(self._conns, self.groups):
            conn.send(("reset", [self._copy_seed(k) for k in copies]))
        obs = np.empty((self.num_envs, self.observation_space.shape[0]), np.float32)
        for copies, answer in zip(self.groups, self._answers()):
            s = self._slots(copies)
            obs[s], self._masks[s], self.padding[s], self.acted_padding[s] = answer
        self._started = True
        self._reset_seeds()
        return obs

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = np.asarray(actions, dtype=np.int64).reshape(-1)
        for conn, copies in zip(self._conns, self.groups):
            conn.send(("step", self._actions[self._slots(copies)]))

    def step_wait(self):
        n = self.num_envs
        obs = np.empty((n, self.observation_space.shape[0]), np.float32)
        rewards = np.empty(n, np.float32)
        dones = np.empty(n, bool)
        infos: list[dict[str, Any]] = [{} for _ in range(n)]
        for copies, answer in zip(self.groups, self._answers()):
            s = self._slots(copies)
            o, r, d, info, masks, padding, acted, stats = answer
            obs[s], rewards[s], dones[s] = o, r, d
            self._masks[s], self.padding[s], self.acted_padding[s] = masks, padding, acted
            for i, item in info.items():
                infos[s.start + i] = item
            self.episode_stats.extend(stats)
            self.episodes_finished += len(stats)
        return obs, rewards, dones, infos

    def action_masks(self) -> np.ndarray:
        return self._masks.copy()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for conn in self._conns:
            try:
                conn.send(("close", None))
                self._recv(conn)
            except (BrokenPipeError, EOFError, WorkerError):
                pass
        for proc in self._procs:
            proc.join(timeout=10)
            if proc.is_alive():
                proc.terminate()

    def env_method(self, method_name: str, *method_args, indices=None, **method_kwargs) -> list[Any]:
        if method_name == "action_masks":
            return self._mask_rows(self.action_masks(), indices)
        out: list[Any] = []
        for conn in self._conns:
            conn.send(("call", (method_name, method_args, method_kwargs)))
        for answer in self._answers():
            out.extend(answer)
        return out

    def get_attr(self, attr_name: str, indices=None) -> list[Any]:
        per_copy: list[Any] = []
        for conn in self._conns:
            conn.send(("get_attr", attr_name))
        try:
            answers = self._answers()
        except WorkerError as err:
            if err.kind == "AttributeError":  # as SB3 expects from get_attr (render_mode)
                raise AttributeError(str(err)) from None
            raise
        for answer in answers:
            per_copy.extend(answer)
        return [per_copy[i // self.n_banks] for i in self._get_indices(indices)]

    def set_attr(self, attr_name: str, value: Any, indices=None) -> None:
        raise NotImplementedError("set_attr: the env copies live in worker processes (train.env_workers > 1)")

    def has_attr(self, attr_name: str) -> bool:
        return attr_name == "action_masks"


    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # noqa: BLE001 - interpreter shutdown
            pass


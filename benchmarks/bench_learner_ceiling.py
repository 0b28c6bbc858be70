"""The learner's own ceiling: the default recipe's PPO on an env that costs nothing, against SB3's
PPO on CartPole in the same run. However fast the interbank env became, training could not run
faster than this.

    .venv/bin/python benchmarks/bench_learner_ceiling.py [--banks 20,100] [--timesteps 128000] [--repeat 3]

``FreeVecEnv`` has the training env's slots (``n_envs`` copies x ``n_banks`` banks) and spaces. It
replays observations and action masks recorded from the real training env (``BankVecEnv`` on
configs/train/default.yaml's env, random valid actions), so the network sees realistic inputs,
with zero reward and an episode end every ``max_steps`` steps; stepping it is an index increment.
The model is ``interbank.train.run.build_model`` of configs/train/default.yaml (MaskablePPO, its
n_steps, batch size, epochs and 64x64 tanh actor and critic, one torch thread as ``interbank train``
uses on CPU), learning for ``--timesteps`` decisions, without the run's callbacks (progress bar,
metrics, checkpoints), which ``bench_train``'s rates include. CartPole is ``bench_train.cartpole`` (SB3's
PPO, default settings, 8 envs, one torch thread), interleaved with the interbank runs. Medians of
``--repeat``; writes benchmarks/results/learner_ceiling.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from stable_baselines3.common.vec_env.base_vec_env import VecEnv

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_train import cartpole  # noqa: E402

from interbank.train.config import parse_train_config  # noqa: E402
from interbank.train.run import build_model, one_torch_thread_on_cpu  # noqa: E402
from interbank.train.vec_env import BankVecEnv  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


class FreeVecEnv(VecEnv):
    """A VecEnv of ``frames`` recorded (observation, mask) pairs, replayed in a loop at no cost:
    reward 0, every slot done every ``episode`` steps with the infos of a time limit
    (``terminal_observation``, ``TimeLimit.truncated``), as the training env ends an episode."""

    def __init__(self, obs: np.ndarray, masks: np.ndarray, observation_space, action_space, episode: int) -> None:
        super().__init__(obs.shape[1], observation_space, action_space)
        self._frames, self._masks, self._episode = obs, masks, episode
        self._t = 0
        self._zeros = np.zeros(obs.shape[1], np.float32)
        self._no = np.zeros(obs.shape[1], bool)
        self._yes = np.ones(obs.shape[1], bool)
        self._infos: list[dict[str, Any]] = [{} for _ in range(obs.shape[1])]

    def reset(self) -> np.ndarray:
        self._t = 0
        return self._frames[0]

    def step_async(self, actions: np.ndarray) -> None:
        self._t += 1

    def step_wait(self):
        frame = self._t % len(self._frames)
        obs = self._frames[frame]
        if self._t % self._episode:
            return obs, self._zeros, self._no, self._infos
        # the time limit, as BankVecEnv reports it: PPO bootstraps every slot from its terminal value
        ended = [{"terminal_observation": row, "TimeLimit.truncated": True} for row in obs]
        return obs, self._zeros, self._yes, ended

    def action_masks(self) -> np.ndarray:
        return self._masks[self._t % len(self._masks)]

    def env_method(self, method_name: str, *args, indices=None, **kwargs) -> list[Any]:
        if method_name != "action_masks":
            raise AttributeError(method_name)
        return list(self.action_masks())

    def has_attr(self, attr_name: str) -> bool:
        return attr_name == "action_masks"

    def close(self) -> None:
        pass

    def get_attr(self, attr_name, indices=None):
        if attr_name == "render_mode":  # asked by VecEnv.__init__
            return [None] * self.num_envs
        raise AttributeError(attr_name)

    def set_attr(self, attr_name, value, indices=None) -> None:
        pass

    def env_is_wrapped(self, wrapper_class, indices=None) -> list[bool]:
        return [False] * self.num_envs

    def get_images(self):  # pragma: no cover
        return [None] * self.num_envs


def recorded(cfg, frames: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, Any, Any]:
    """``frames`` observations and masks of the real training env under random valid actions."""
    vec = BankVecEnv(cfg.env, cfg.train.n_envs, seed)
    rng = np.random.default_rng(seed)
    obs, masks = [vec.reset()], [vec.action_masks()]
    for _ in range(frames - 1):
        m = masks[-1]
        vec.step_async(np.argmax(rng.random(m.shape) * m, axis=1))
        o, *_ = vec.step_wait()
        obs.append(o)
        masks.append(vec.action_masks())
    spaces = vec.observation_space, vec.action_space
    vec.close()
    return np.stack(obs), np.stack(masks), *spaces


def ceiling(banks: int, timesteps: int, seed: int) -> float:
    """Decisions per second of the default recipe's PPO on ``FreeVecEnv`` at ``banks`` banks."""
    raw = yaml.safe_load((ROOT / "configs/train/default.yaml").read_text())
    raw["env"]["n_banks"] = banks
    raw["train"].update({"seed": seed, "device": "cpu", "total_timesteps": timesteps})
    raw["train"]["warm_start"] = {"policy": None}
    cfg = parse_train_config(raw, "configs/train/default.yaml (bench_learner_ceiling)")
    with tempfile.TemporaryDirectory() as tmp:  # the model's TensorBoard folder
        one_torch_thread_on_cpu("cpu")
        obs, masks, obs_space, act_space = recorded(cfg, 60, seed)
        vec = FreeVecEnv(obs, masks, obs_space, act_space, cfg.env.max_steps)
        model = build_model(cfg, vec, Path(tmp))
        t0 = time.perf_counter()
        model.learn(total_timesteps=timesteps)
        return model.num_timesteps / (time.perf_counter() - t0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--banks", default="20,100")
    parser.add_argument("--timesteps", type=int, default=128_000)
    parser.add_argument("--cartpole-timesteps", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--note", default="")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "learner_ceiling.json")
    args = parser.parse_args()
    sizes = [int(b) for b in args.banks.split(",")]
    runs: dict[int, list[float]] = {b: [] for b in sizes}
    cart: list[float] = []
    for seed in range(args.repeat):
        for banks in sizes:
            runs[banks].append(ceiling(banks, args.timesteps, seed))
        cart.append(cartpole(args.cartpole_timesteps, seed, 1)[0])
        print(json.dumps({"repeat": seed, **{str(b): round(runs[b][-1]) for b in sizes}, "cartpole": round(cart[-1])}), flush=True)
    cart_median = float(np.median(cart))
    rows = [{"banks": b, "timesteps": args.timesteps, "decisions_per_s_median": float(np.median(runs[b])), "runs": runs[b],
             "ratio_to_cartpole": float(np.median(runs[b]) / cart_median)} for b in sizes]
    result = {"note": args.note, "free_env_ppo": rows,
              "sb3_ppo_cartpole_8_envs": {"timesteps": args.cartpole_timesteps, "torch_threads": 1,
                                          "steps_per_s_median": cart_median, "runs": cart}}
    print(json.dumps({r["banks"]: round(r["ratio_to_cartpole"], 1) for r in rows}))
    args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()

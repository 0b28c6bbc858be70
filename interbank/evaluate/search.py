"""Search a rule nobody wrote: CMA-ES over ``SearchedRulePolicy``'s weights.

The rule class is one linear score per action over the base observation features, the mask
applied, the highest score wins (``interbank.policies.searched``). HOLD's score is fixed at 0
(only score differences matter), so the search moves ``(N_ACTIONS - 1) x (n_features + 1)``
numbers. It searches in standardised coordinates (each feature minus its mean over its
standard deviation, measured on reference episodes), so one step size suits every feature;
the policy it returns holds the equivalent weights on the raw features.

The objective is the score ``interbank evaluate`` ranks rules by: mean return per bank
(``EpisodeResult.mean_return``) averaged over the tuning seeds, the same seeds (networks,
shocks) for every candidate. The best candidate seen on the tuning seeds is the result; the
caller scores it on evaluation seeds it never saw.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from interbank.config import EnvConfig
from interbank.envs import parallel_env
from interbank.envs.observation import FEATURE_INDEX, HIGH, LOW
from interbank.evaluate.episode import evaluate_episode
from interbank.evaluate.parallel import map_tasks
from interbank.policies import HoldPolicy, RandomPolicy
from interbank.policies.base import Policy
from interbank.policies.rollout import rollout
from interbank.policies.searched import SEARCH_FEATURES, SearchedRulePolicy
from interbank.sim.actions import HOLD, N_ACTIONS

SEARCHED_ACTIONS = tuple(a for a in range(N_ACTIONS) if a != HOLD)


@dataclass(frozen=True)
class SearchBudget:
    """How hard to search. ``generations``: CMA-ES iterations; ``popsize``: candidates per
    generation; ``episodes``: tuning episodes each candidate plays (seeds ``tune_seed ...``, the
    caller's); ``seed``: the search's own random seed (same seed, same objective -> same rule);
    ``sigma0``: initial step size in standardised units. Cost: generations x popsize x episodes
    episodes."""

    generations: int = 15
    popsize: int = 12
    episodes: int = 5
    seed: int = 0
    sigma0: float = 0.5

    def evaluations(self) -> int:
        return self.generations * self.popsize * self.episodes


@dataclass
class SearchResult:
    """The search's outcome. ``policy``: the best candidate on the tuning seeds; ``score``: its
    tuning score (mean return per bank); ``history``: per generation, the candidates' best, mean
    and median score, the best so far and CMA-ES's step size; ``stop``: why CMA-ES stopped early
    (empty when it ran every generation)."""

    policy: SearchedRulePolicy
    score: float
    budget: SearchBudget
    history: list[dict[str, float]] = field(default_factory=list)
    stop: dict[str, Any] = field(default_factory=dict)

    def report(self, tuning_seeds: Sequence[int]) -> dict[str, Any]:
        """JSON-able summary for ``searched_rule.json`` and ``metrics.json``."""
        return {"method": "CMA-ES (cma)", "budget": asdict(self.budget), "tuning_seeds": list(tuning_seeds),
                "tuning_score": self.score, "history": self.history, "stop": self.stop}


def to_policy(x: np.ndarray, center: np.ndarray, scale: np.ndarray, features: Sequence[str]) -> SearchedRulePolicy:
    """The policy of a search point ``x`` (standardised weights + bias per non-HOLD action)."""
    n = len(features)
    v = np.asarray(x, dtype=np.float64).reshape(len(SEARCHED_ACTIONS), n + 1)
    weights = np.zeros((N_ACTIONS, n + 1))
    weights[list(SEARCHED_ACTIONS), :n] = v[:, :n] / scale
    weights[list(SEARCHED_ACTIONS), n] = v[:, n] - (v[:, :n] * center / scale).sum(axis=1)
    return SearchedRulePolicy(weights, features, scale)


def cma_search(objective: Callable[[list[SearchedRulePolicy]], Sequence[float]], center: np.ndarray, scale: np.ndarray,
               budget: SearchBudget, features: Sequence[str] = SEARCH_FEATURES,
               on_generation: Callable[[dict[str, float]], None] | None = None) -> SearchResult:
    """Maximise ``objective`` (the candidates of one generation -> their scores) with CMA-ES from
    the all-zero rule (HOLD). Any objective works: the env's (``env_objective``) or a test's."""
    import cma

    rng = np.random.default_rng(budget.seed)
    dim = len(SEARCHED_ACTIONS) * (len(features) + 1)
    es = cma.CMAEvolutionStrategy(np.zeros(dim), budget.sigma0, {
        "popsize": budget.popsize, "maxiter": budget.generations, "verbose": -9,
        # its own generator instead of numpy's global one (seed nan: cma leaves the global one alone)
        "seed": float("nan"), "randn": lambda *shape: rng.standard_normal(shape),
        "tolflatfitness": budget.generations + 1,  # many candidates acting alike is no reason to stop
    })
    best: tuple[float, np.ndarray] | None = None
    history: list[dict[str, float]] = []
    for generation in range(budget.generations):
        xs = es.ask()
        policies = [to_policy(x, center, scale, features) for x in xs]
        scores = np.asarray(objective(policies), dtype=np.float64)
        k = int(np.argmax(scores))
        if best is None or scores[k] > best[0]:
            best = (float(scores[k]), np.array(xs[k]))
        es.tell(xs, (-scores).tolist())  # cma minimises
        row = {"generation": generation + 1, "best": float(scores.max()), "mean": float(scores.mean()),
               "median": float(np.median(scores)), "best_so_far": best[0], "sigma": float(es.sigma)}
        history.append(row)
        if on_generation:
            on_generation(row)
        stop = {k: v for k, v in es.stop().items() if k != "maxiter"}
        if stop and generation + 1 < budget.generations:
            return SearchResult(to_policy(best[1], center, scale, features), best[0], budget, history,
                                {k: float(v) if isinstance(v, (int, float)) else str(v) for k, v in stop.items()})
    assert best is not None
    return SearchResult(to_policy(best[1], center, scale, features), best[0], budget, history)


class _Recorder:
    """A policy wrapper that keeps every observation it is shown."""

    def __init__(self, inner: Policy) -> None:
        self.inner, self.name, self.seen = inner, inner.name, []

    def reset(self, seed: int | None = None) -> None:
        self.inner.reset(seed)

    def act(self, observations: np.ndarray, action_masks: np.ndarray) -> np.ndarray:
        self.seen.append(np.array(observations, dtype=np.float64))
        return self.inner.act(observations, action_masks)


def feature_stats(env_cfg: EnvConfig, seed: int, features: Sequence[str] = SEARCH_FEATURES) -> tuple[np.ndarray, np.ndarray]:
    """(mean, standard deviation) of each feature over every live bank-step of one episode of
    ``hold`` and one of ``random`` on ``seed``: the features' typical centre and scale. The scale
    is floored at 1% of the feature's range, so a feature that barely moves on these episodes
    cannot blow up a standardised weight."""
    cols = [FEATURE_INDEX[f] for f in features]
    seen = []
    for policy in (HoldPolicy(), RandomPolicy(seed)):
        recorder = _Recorder(policy)
        rollout(parallel_env(env_cfg), recorder, seed)
        seen += recorder.seen
    x = np.concatenate(seen)[:, cols]
    floor = 0.01 * (HIGH[cols] - LOW[cols]).astype(np.float64)
    return x.mean(axis=0), np.maximum(x.std(axis=0), floor)


def _episode_return(args: tuple[EnvConfig, Policy, int]) -> float:
    env_cfg, policy, seed = args
    return evaluate_episode(parallel_env(env_cfg), policy, seed).mean_return


def episode_returns(env_cfg: EnvConfig, policies: Sequence[Policy], seeds: Sequence[int], backend: str = "local",
                    workers: int = 1, address: str | None = None,
                    on_done: Callable[[int, Any], None] | None = None) -> np.ndarray:
    """float64[len(policies), len(seeds)]: each policy's mean return per bank on each seed."""
    tasks = [(env_cfg, p, s) for p in policies for s in seeds]
    return np.array(map_tasks(_episode_return, tasks, backend, workers, address, on_done)).reshape(len(policies), len(seeds))


def env_objective(env_cfg: EnvConfig, seeds: Sequence[int], backend: str = "local", workers: int = 1,
                  address: str | None = None, progress: Callable[[str, int], None] | None = None
                  ) -> Callable[[list[SearchedRulePolicy]], list[float]]:
    """The objective ``evaluate`` ranks rules by: mean return per bank over ``seeds``."""
    done = [0]

    def record(_: int, __: Any) -> None:
        done[0] += 1
        if progress:
            progress("search", done[0])

    def objective(policies: list[SearchedRulePolicy]) -> list[float]:
        return episode_returns(env_cfg, policies, seeds, backend, workers, address, record).mean(axis=1).tolist()

    return objective


def search_rule(env_cfg: EnvConfig, tuning_seeds: Sequence[int], budget: SearchBudget, backend: str = "local",
                workers: int = 1, address: str | None = None,
                progress: Callable[[str, int], None] | None = None) -> SearchResult:
    """Search the rule on ``tuning_seeds`` (its ``budget.episodes`` first ones are played by every
    candidate; the first also sets the features' scales)."""
    seeds = list(tuning_seeds)[:budget.episodes]
    center, scale = feature_stats(env_cfg, seeds[0])
    return cma_search(env_objective(env_cfg, seeds, backend, workers, address, progress), center, scale, budget)

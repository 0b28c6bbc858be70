"""Baseline policies: ``random``, ``hold``, the rule-based ``heuristic`` (the seed's old static
logic) and transparent reference rules (``hoard``, ``lend_surplus``, ``invest_momentum``, and the
two rules that exploited env v2: ``buy_below_path`` and ``carry``).

Each registers itself with ``register_policy`` (``interbank.policies.registry``), which declares
its name and, for a rule with parameters, the small grid ``interbank evaluate`` tunes it over on
training seeds before scoring it on the evaluation seeds (a few values around the default,
spanning cautious to aggressive)."""

from __future__ import annotations

import numpy as np

from interbank.envs.observation import FEATURE_INDEX, feature_range
from interbank.policies.registry import register_policy
from interbank.sim.actions import BORROW, DIVEST, HOLD, INVEST, LEND

_F = FEATURE_INDEX


@register_policy("random", rule=False)
class RandomPolicy:
    """Uniform over the actions the mask allows (seeded)."""

    name = "random"

    def __init__(self, seed: int | None = None) -> None:
        self.rng = np.random.default_rng(seed)

    def reset(self, seed: int | None = None) -> None:
        if seed is not None:
            self.rng = np.random.default_rng(seed)

    def act(self, observations: np.ndarray, action_masks: np.ndarray) -> np.ndarray:
        scores = self.rng.random(action_masks.shape) * np.asarray(action_masks, dtype=bool)
        return np.argmax(scores, axis=1).astype(np.int64)


@register_policy("hold", rule=False)
class HoldPolicy:
    """Always HOLD: the do-nothing benchmark."""

    name = "hold"

    def reset(self, seed: int | None = None) -> None:
        pass

    def act(self, observations: np.ndarray, action_masks: np.ndarray) -> np.ndarray:
        return np.full(observations.shape[0], HOLD, dtype=np.int64)


@register_policy("heuristic", grid={"low_cash": (0.05, 0.1, 0.15), "lend_cash": (0.1, 0.2, 0.3)},
                 bounds={"low_cash": feature_range("cash_ratio"), "invest_cash": feature_range("cash_ratio"),
                         "lend_cash": feature_range("cash_ratio"), "risk_appetite": feature_range("risk"),
                         "stop_loss": (0.0, None)})
class HeuristicPolicy:
    """The seed's old static logic, as an explicit rule set (first rule that applies wins):

    1. cash / assets < ``low_cash`` -> BORROW (call loans back) if possible, else DIVEST;
    2. the bank's best market fell more than ``stop_loss`` over 5 steps -> DIVEST;
    3. cash / assets > ``invest_cash`` and risk > ``risk_appetite`` and a market is rising -> INVEST;
    4. cash / assets > ``lend_cash`` -> LEND;
    5. otherwise HOLD.

    A rule whose action is masked falls through to the next rule.
    """

    def __init__(self, low_cash: float = 0.1, stop_loss: float = 0.05, invest_cash: float = 0.3,
                 risk_appetite: float = 0.5, lend_cash: float = 0.2) -> None:
        self.low_cash, self.stop_loss = low_cash, stop_loss
        self.invest_cash, self.risk_appetite, self.lend_cash = invest_cash, risk_appetite, lend_cash
        defaults = (0.1, 0.05, 0.3, 0.5, 0.2)
        params = (low_cash, stop_loss, invest_cash, risk_appetite, lend_cash)
        keys = ("low_cash", "stop_loss", "invest_cash", "risk_appetite", "lend_cash")
        changed = [f"{k}={v:g}" for k, v, d in zip(keys, params, defaults) if v != d]
        self.name = f"heuristic({','.join(changed)})" if changed else "heuristic"

    def reset(self, seed: int | None = None) -> None:
        pass

    def act(self, observations: np.ndarray, action_masks: np.ndarray) -> np.ndarray:
        obs = observations
        mask = np.asarray(action_masks, dtype=bool)
        cash = obs[:, _F["cash_ratio"]]
        mom = obs[:, _F["market_momentum"]]
        worst = mom - 0.5 * obs[:, _F["market_momentum_spread"]]
        best = mom + 0.5 * obs[:, _F["market_momentum_spread"]]
        rules = [
            (cash < self.low_cash) & mask[:, BORROW],
            (cash < self.low_cash) & mask[:, DIVEST],
            (worst < -self.stop_loss) & mask[:, DIVEST],
            (cash > self.invest_cash) & (obs[:, _F["risk"]] > self.risk_appetite) & (best > 0) & mask[:, INVEST],
            (cash > self.lend_cash) & mask[:, LEND],
        ]
        return np.select(rules, [BORROW, DIVEST, DIVEST, INVEST, LEND], default=HOLD).astype(np.int64)


def reserve_cover(observations: np.ndarray) -> np.ndarray:
    """cash / required reserves per bank, from the observation (inf when nothing is required)."""
    cash = observations[:, _F["cash_ratio"]].astype(np.float64)
    required = cash - observations[:, _F["reserve_buffer"]]
    return np.divide(cash, required, out=np.full(cash.shape, np.inf), where=required > 1e-12)


def lend_surplus_rules(observations: np.ndarray, mask: np.ndarray, c: float = 3.0) -> list[tuple[np.ndarray, int]]:
    """``lend_surplus(c)``'s two rules as (condition, action) pairs, the fallback of the market rules:
    LEND above ``c`` times the reserve requirement, call loans back (BORROW) below it."""
    cover = reserve_cover(observations)
    return [((cover > c) & mask[:, LEND], LEND), ((cover < c) & mask[:, BORROW], BORROW)]


def first_rule(rules: list[tuple[np.ndarray, int]]) -> np.ndarray:
    """The action of the first rule that applies to each bank, HOLD where none does."""
    return np.select([cond for cond, _ in rules], [action for _, action in rules], default=HOLD).astype(np.int64)


@register_policy("hoard")
class HoardPolicy:
    """Hoard liquidity: DIVEST while there is a position, then call loans back (BORROW), then HOLD."""

    name = "hoard"

    def reset(self, seed: int | None = None) -> None:
        pass

    def act(self, observations: np.ndarray, action_masks: np.ndarray) -> np.ndarray:
        mask = np.asarray(action_masks, dtype=bool)
        return np.select([mask[:, DIVEST], mask[:, BORROW]], [DIVEST, BORROW], default=HOLD).astype(np.int64)


@register_policy("lend_surplus", grid={"c": (1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 12.0)}, bounds={"c": (0.0, None)})
class LendSurplusPolicy:
    """Lend the surplus: LEND when cash exceeds ``c`` times the reserve requirement, call loans
    back (BORROW) when it is below, else HOLD."""

    def __init__(self, c: float = 4.0) -> None:
        self.c = float(c)
        self.name = f"lend_surplus({self.c:g})"

    def reset(self, seed: int | None = None) -> None:
        pass

    def act(self, observations: np.ndarray, action_masks: np.ndarray) -> np.ndarray:
        mask = np.asarray(action_masks, dtype=bool)
        cover = reserve_cover(observations)
        return np.select(
            [(cover > self.c) & mask[:, LEND], (cover < self.c) & mask[:, BORROW]], [LEND, BORROW], default=HOLD,
        ).astype(np.int64)


@register_policy("invest_momentum", grid={"threshold": (0.0, 0.01, 0.02, 0.05)}, bounds={"threshold": (0.0, None)})
class InvestMomentumPolicy:
    """Follow the markets: INVEST when the bank's best market rose more than ``threshold``
    (5-step momentum), DIVEST when its worst market fell more than ``threshold``, otherwise
    lend the surplus above 3x the reserve requirement (as ``lend_surplus(3)``), else HOLD."""

    def __init__(self, threshold: float = 0.02) -> None:
        self.threshold = float(threshold)
        self.name = f"invest_momentum({self.threshold:g})"

    def reset(self, seed: int | None = None) -> None:
        pass

    def act(self, observations: np.ndarray, action_masks: np.ndarray) -> np.ndarray:
        obs = observations
        mask = np.asarray(action_masks, dtype=bool)
        mom, spread = obs[:, _F["market_momentum"]], obs[:, _F["market_momentum_spread"]]
        best, worst = mom + 0.5 * spread, mom - 0.5 * spread
        return first_rule([
            ((worst < -self.threshold) & mask[:, DIVEST], DIVEST),
            ((best > self.threshold) & mask[:, INVEST], INVEST),
            *lend_surplus_rules(obs, mask),
        ])


@register_policy("buy_below_path", grid={"gap": (0.0, 0.02, 0.05)}, bounds={"gap": (0.0, None), "steps": (1.0, None)})
class BuyBelowPathPolicy:
    """Time the markets (the env v2 exploit): INVEST when prices stand more than ``gap`` below the
    path ``exp(drift x step) - 1`` a bank can compute from ``time_left`` and the scenario's drift,
    DIVEST when they stand more than ``gap`` above it, otherwise lend the surplus above 3x the
    reserve requirement (as ``lend_surplus(3)``). ``drift`` is per step, ``steps`` the episode's
    length. Under env v3 prices are a random walk: the path predicts nothing (a test checks that
    a lone bank playing it gains nothing significant)."""

    def __init__(self, gap: float = 0.02, drift: float = 0.001, steps: float = 100.0) -> None:
        self.gap, self.drift, self.steps = float(gap), float(drift), float(steps)
        self.name = f"buy_below_path({self.gap:g})"

    def reset(self, seed: int | None = None) -> None:
        pass

    def act(self, observations: np.ndarray, action_masks: np.ndarray) -> np.ndarray:
        obs = observations
        mask = np.asarray(action_masks, dtype=bool)
        step = (1.0 - obs[:, _F["time_left"]]) * self.steps
        gap = obs[:, _F["market_return"]] - np.expm1(self.drift * step)
        return first_rule([
            ((gap < -self.gap) & mask[:, INVEST], INVEST),
            ((gap > self.gap) & mask[:, DIVEST], DIVEST),
            *lend_surplus_rules(obs, mask),
        ])


@register_policy("carry", grid={"spread": (0.05, 0.1, 0.2)}, bounds={"spread": feature_range("funding_spread")})
class CarryPolicy:
    """Carry trade: INVEST while funding is cheap (the bank's own ``funding_spread``, its interbank
    rate over the deposit facility x 10, below ``spread``) and the markets have not fallen over the
    last 5 steps; DIVEST when funding turns dear; otherwise lend the surplus above 3x the reserve
    requirement. The markets' expected return (about 5% a year) against the funding cost is the
    bet."""

    def __init__(self, spread: float = 0.1) -> None:
        self.spread = float(spread)
        self.name = f"carry({self.spread:g})"

    def reset(self, seed: int | None = None) -> None:
        pass

    def act(self, observations: np.ndarray, action_masks: np.ndarray) -> np.ndarray:
        obs = observations
        mask = np.asarray(action_masks, dtype=bool)
        cheap = obs[:, _F["funding_spread"]] < self.spread
        return first_rule([
            (cheap & (obs[:, _F["market_momentum"]] >= 0) & mask[:, INVEST], INVEST),
            (~cheap & mask[:, DIVEST], DIVEST),
            *lend_surplus_rules(obs, mask),
        ])

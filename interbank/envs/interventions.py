"""The env's interactive hooks: changes a user makes between steps (the runner's commands).

``Interventions(env)`` (``env.interventions``) checks a request against the env (a live bank, a
positive finite amount, a value in range), applies it to the core (``BankingSystem``'s hooks),
refreshes what the agents observe, and emits the control event; bad input raises ValueError or
KeyError and changes nothing. ``InterbankEnv`` keeps its methods of the same names as one-line
delegations, so the runner and scripts call ``env.add_capital(...)`` as before.

Dollars for amounts; rates and ratios annual, in [0, 1].
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from interbank.sim.events import INTERVENTIONS
from interbank.ui import clipped

MAX_AMOUNT = 1e15  # dollars: the most one intervention adds (sums of them stay far from overflow)
MAX_AMOUNT_TEXT = "1e15"  # (as messages write it)

if TYPE_CHECKING:
    from interbank.envs.interbank_env import InterbankEnv


class Interventions:
    """The interactive hooks of one ``InterbankEnv``: ``add_capital``, ``delete_bank``,
    ``delete_failed_bank`` and ``central_bank`` (``CENTRAL_BANK_OPERATIONS``)."""

    CENTRAL_BANK_OPERATIONS: tuple[str, ...] = INTERVENTIONS

    def __init__(self, env: "InterbankEnv") -> None:
        self.env = env

    def _done(self, type_: str, data: dict[str, Any] | Callable[[], dict[str, Any]]) -> dict[str, Any]:
        """After a change: the agents' observations (and the priorities in force) are recomputed, then
        the event's data is built (given as a function: after them, so its snapshots show them) and
        emitted."""
        self.env._refresh_observations()
        data = data() if callable(data) else data
        self.env.emit(type_, data)
        return data

    def _sheet(self, idx: int) -> dict[str, Any]:
        """Bank ``idx``'s ``BankSnapshot`` now (as ``step_end`` shows it)."""
        return self.env.system.snapshots(np.array([idx]))[0]

    def _running(self) -> None:
        """Interventions change an episode under way: not before ``reset``, not after its end."""
        self.env._require_reset()
        if self.env.system.done:
            raise ValueError("the episode is over: reset() starts the next one")

    def _live_index(self, agent: str) -> int:
        self._running()
        env = self.env
        idx = env.agent_index.get(agent) if isinstance(agent, str) else None
        if idx is None:
            raise KeyError(f"unknown bank {agent!r}")
        if not env.system.active[idx]:
            state = "been deleted" if env.system.deleted[idx] else "defaulted"
            raise KeyError(f"bank {agent} has {state} and cannot be changed")
        return idx

    def add_capital(self, agent: str, amount: float) -> dict[str, Any]:
        """Inject ``amount`` dollars of new equity (as cash) into a live bank; emits ``capital_added``."""
        amount = positive_amount(amount)
        idx = self._live_index(agent)
        s = self.env.system
        s.add_capital(idx, amount)
        return self._done("capital_added", lambda: {"bank": agent, "amount": amount, "cash": float(s.cash[idx]),
                                                    "equity": float(self.env._equity[idx]), "snapshot": self._sheet(idx)})

    def delete_bank(self, agent: str) -> dict[str, Any]:
        """Remove a live bank: its market positions are fire-sold, its creditors paid by the
        clearing model, its claims passed to external creditors (``BankingSystem.delete_bank``).
        Emits ``bank_deleted``. As a default does, it ends the bank's episode: the next ``step``
        reports ``terminations[agent] = True`` (reward 0: it no longer acts), then the bank leaves
        ``agents`` (PettingZoo's contract: an agent leaves only after a step that terminates it)."""
        idx = self._live_index(agent)
        system = self.env.system
        before = system.snapshots()
        settlement = system.delete_bank(idx)
        equity = settlement.pop("equity")
        # with the other banks whose sheets the settlement moved (its creditors, the holders of the markets
        # it sold into): a paused session's viewers see them at once, as after a step
        return self._done("bank_deleted", lambda: {
            "bank": agent, "equity": equity, "settlement": settlement,
            "snapshots": [after for old, after in zip(before, system.snapshots()) if after != old and after["id"] != agent]})

    def delete_failed_bank(self, agent: str) -> dict[str, Any]:
        """Remove a defaulted bank from the network (the seed's "delete failed banks"). It was
        settled when it defaulted, so nothing moves: it is marked deleted as well as defaulted.
        Emits ``bank_deleted`` with its equity at default and a zero settlement."""
        self._running()
        env = self.env
        idx = env.agent_index.get(agent) if isinstance(agent, str) else None
        if idx is None:
            raise KeyError(f"unknown bank {agent!r}")
        if not env.system.defaulted[idx] or env.system.deleted[idx]:
            raise KeyError(f"bank {agent} is not a defaulted bank that is still listed")
        equity = env.system.snapshots(np.array([idx]))[0]["equity"]
        env.system.deleted[idx] = True
        data = {"bank": agent, "equity": equity, "settlement": {"creditor_losses": 0.0, "fire_sale_volume": 0.0}}
        env.emit("bank_deleted", data)
        return data

    def central_bank(self, operation: str, bank: str | None = None, amount: float | None = None) -> dict[str, Any]:
        """A central bank intervention; emits a ``central_bank`` event and returns its data.

        ``inject``: lend ``amount`` dollars of emergency liquidity to live ``bank`` (cash and
        central bank loans rise, equity unchanged); ``set_policy_rate``: move the rate corridor so
        the policy rate is ``amount`` (annual, in [0, 1]); ``set_capital_requirement``: set the
        minimum capital ratio to ``amount`` (in [0, 1]). Bad input raises ValueError/KeyError and
        changes nothing."""
        self._running()
        s = self.env.system
        if operation not in self.CENTRAL_BANK_OPERATIONS:
            raise ValueError(f"unknown central bank operation {operation!r}; expected one of {', '.join(self.CENTRAL_BANK_OPERATIONS)}")
        if amount is not None and not _real(amount):
            raise ValueError(f"amount must be a number, got {amount!r}")
        if operation == "inject":
            value = positive_amount(amount)
            idx = self._live_index(bank)
            s.inject_liquidity(idx, value)
            return self._done("central_bank", lambda: {"operation": operation, "bank": bank, "amount": value,
                                                       "rate": s.lending_rate, "value": None, "source": "user",
                                                       "snapshot": self._sheet(idx)})
        value = float("nan") if amount is None or abs(amount) > 1 else float(amount)  # (and no int too large for a float)
        if not (0.0 <= value <= 1.0):
            raise ValueError(f"{operation} needs a value in [0, 1], got {amount}")
        if operation == "set_policy_rate":
            s.set_policy_rate(value)
        else:
            s.set_capital_requirement(value)
        return self._done("central_bank", {"operation": operation, "bank": None, "amount": 0.0, "rate": s.policy_rate,
                                           "value": value, "source": "user"})


def _real(x: Any) -> bool:
    """A real number (Python or numpy), not a bool or a string."""
    return not isinstance(x, (bool, np.bool_)) and isinstance(x, (int, float, np.floating, np.integer))


def positive_amount(amount: Any) -> float:
    """An intervention's dollars: a real number in (0, ``MAX_AMOUNT``], else ValueError."""
    if not _real(amount):
        raise ValueError(f"amount must be a positive finite number, got {clipped(repr(amount))}")
    try:
        value = float(amount)
    except OverflowError:
        raise ValueError(f"amount {clipped(repr(amount))} is too large (at most {MAX_AMOUNT_TEXT})") from None
    if not (value > 0 and np.isfinite(value)):
        raise ValueError(f"amount must be a positive finite number, got {clipped(repr(amount))}")
    if value > MAX_AMOUNT:
        raise ValueError(f"amount {clipped(repr(amount))} is too large (at most {MAX_AMOUNT_TEXT})")
    return value

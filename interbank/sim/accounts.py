"""The whole economy in the books: the sectors around the banks, and what enters or leaves from outside.

Every dollar a bank pays or receives comes from, or goes to, an account: another
bank (the ledger), or one of these sectors, each with a net worth in dollars:

- ``households`` (depositors and the banks' outside creditors): their deposits at
  the open banks plus ``households`` money outside the banks (interest received,
  runs withdrawn, recoveries on failed banks; minus money brought in as new
  deposits). Deposit flows between banks are exactly zero-sum; what is not
  (reversion toward the initial deposits, runs, flows clipped at a bank's
  deposits) moves money between households' deposits and their outside money.
- ``central_bank``: its loans to the open banks plus its money position
  (minus what it lent, plus repayments and recoveries, minus the interest it
  pays on reserves at the deposit facility).
- ``investors`` (the markets' outside investors: buyers in fire sales, takers of
  profit booking and early sales of the loan book): their cash position, the
  market units they hold net of the start (units x price), and the loan book
  they bought (at face value).
- ``shareholders`` of closed banks: residual equity paid out, minus capital
  injected (the runner's ``add_capital``).

The flows that come from *outside* this economy, and only those, change the
sum of net worth (``EXOGENOUS``): the real economy's interest and fees on the
loan book, operating costs paid to it, credit surprises on the book, market
moves (all units outstanding x the price change), bankruptcy costs (what a
failed bank's estate loses in liquidation: Rogers & Veraart's alpha and beta),
scheduled capital-loss shocks, and assets wiped out by an experiment. The
invariant, tested on random scenarios at every step: the change of the sum of
sector net worth equals the sum of the exogenous flows, to rounding.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from interbank.sim.columns import column_sums

if TYPE_CHECKING:
    from interbank.sim.state import BankState
    from interbank.sim.system import BankingSystem

SECTORS: tuple[str, ...] = ("banks", "households", "central_bank", "investors", "shareholders")
EXOGENOUS: tuple[str, ...] = (
    "book_interest", "fees", "operating_costs", "credit_surprises", "market_moves", "bankruptcy_costs",
    "capital_shocks", "wiped",
)
INCOME: tuple[str, ...] = (
    "interest_income", "interest_expense", "fee_income", "operating_cost", "credit_result", "market_result", "other",
)
"""The income statement's lines per bank (dollars since reset): net income = interest_income -
interest_expense + fee_income - operating_cost + credit_result + market_result + other.
``market_result`` is what the rest leaves of the equity change (revaluation, trading costs,
fire-sale discounts); ``other``: counterparty losses, early book-sale discounts, capital shocks
and capital injected."""
EXPENSES: frozenset[str] = frozenset({"interest_expense", "operating_cost"})


def net_income(income: dict[str, np.ndarray], lines: tuple[str, ...] = INCOME) -> np.ndarray:
    """Per bank, the sum of ``lines`` of the income statement, expenses subtracted (dollars).
    Accumulated in place from zero, line by line (``x - y`` is ``x + (-y)`` exactly); the first
    line's ``0 + x`` (or ``0 - x``) is computed as the new array itself (no zeros to add it to)."""
    if not lines:
        return np.zeros_like(income[INCOME[0]])
    first = income[lines[0]]
    out = np.subtract(0, first) if lines[0] in EXPENSES else np.add(first, 0)
    for line in lines[1:]:
        if line in EXPENSES:
            out -= income[line]
        else:
            out += income[line]
    return out


@dataclass
class SectorAccounts:
    """Money positions of the sectors outside the banks (dollars), and the exogenous flows so far.

    Fields: ``households``, ``central_bank``, ``investors_cash``, ``investors_book`` (face value
    of loans bought early), ``shareholders`` (dollars); ``investors_units`` (float[n_markets],
    units held net of the start); ``exogenous`` (flow name -> dollars since reset)."""

    n_markets: int
    households: float = 0.0
    central_bank: float = 0.0
    investors_cash: float = 0.0
    investors_book: float = 0.0
    shareholders: float = 0.0
    investors_units: np.ndarray = field(default=None)  # type: ignore[assignment]
    exogenous: dict[str, float] = field(default_factory=lambda: dict.fromkeys(EXOGENOUS, 0.0))

    def __post_init__(self) -> None:
        if self.investors_units is None:
            self.investors_units = np.zeros(self.n_markets)

    def add(self, flow: str, dollars: float) -> None:
        """Record an exogenous flow (positive: into the economy)."""
        self.exogenous[flow] += float(dollars)

    def trade(self, units: np.ndarray, cash: np.ndarray) -> None:
        """Investors take ``units`` per market from the banks (negative: give) and pay ``cash`` for them."""
        self.investors_units += units
        self.investors_cash -= float(np.sum(cash))


def net_worth(system: "BankingSystem") -> dict[str, float]:
    """Every sector's net worth now (dollars)."""
    s, a = system, system.accounts
    live = s.active
    return {
        "banks": float(s.equity()[live].sum()),
        "households": float(s.deposits[live].sum()) + a.households,
        "central_bank": float(s.cb_loans[live].sum()) + a.central_bank,
        "investors": a.investors_cash + float(a.investors_units @ s.price) + a.investors_book,
        "shareholders": a.shareholders,
    }


def units_outstanding(system: "BankingSystem | BankState") -> np.ndarray:
    """Market units held by anyone in the economy (banks and investors), per market."""
    return column_sums(system.holdings) + system.accounts.investors_units

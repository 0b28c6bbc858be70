"""Eisenberg-Noe with a proportional bankruptcy cost: a defaulted bank loses ``cost`` of everything
it realises, external and interbank assets alike (Rogers & Veraart 2013 with alpha = beta =
1 - cost). ``cost`` = 0 is Eisenberg-Noe; the greatest clearing vector is found exactly."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from interbank.sim.clearing import greatest_clearing_vector, recovery_of, register_clearing


@dataclass(frozen=True)
class BankruptcyCostParams:
    """``cost``: the share of a defaulted bank's assets lost in bankruptcy (in [0, 1))."""

    cost: float = 0.1

    def __post_init__(self) -> None:
        if isinstance(self.cost, bool) or not isinstance(self.cost, (int, float)) or not 0 <= self.cost < 1:
            raise ValueError(f"cost must be a number in [0, 1), got {self.cost!r}")


def bankruptcy_cost(pi_t, p_bar: np.ndarray, external_assets: np.ndarray, own: BankruptcyCostParams) -> np.ndarray:
    """The fraction of its debts each bank pays: p / p_bar for the greatest clearing vector p."""
    keep = 1.0 - own.cost
    return recovery_of(greatest_clearing_vector(pi_t, p_bar, external_assets, keep, keep), p_bar)


register_clearing("bankruptcy_cost", bankruptcy_cost, BankruptcyCostParams)

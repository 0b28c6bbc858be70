"""A ring lattice: bank i lends to the next ``k`` banks around the ring (Watts & Strogatz 1998's
starting point; a regular network with no core, for contagion experiments against a tiered one)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from interbank.sim.network import register_network


@dataclass(frozen=True)
class RingParams:
    """``k``: how many following banks each bank lends to (1 <= k, fewer than the banks)."""

    k: int = 2

    def __post_init__(self) -> None:
        if isinstance(self.k, bool) or not isinstance(self.k, int) or self.k < 1:
            raise ValueError(f"k must be a whole number of at least 1, got {self.k!r}")


def ring(n: int, params: RingParams, rng: np.random.Generator, sizes: np.ndarray | None = None):
    """(lender, borrower): i -> i+1, ..., i+k (mod n). Deterministic: ``rng`` and ``sizes`` unused."""
    lender = np.repeat(np.arange(n), params.k)
    borrower = (lender + np.tile(np.arange(1, params.k + 1), n)) % max(n, 1)
    return lender, borrower


register_network("ring", ring, RingParams)

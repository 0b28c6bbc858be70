"""The simulation core: pure numpy, no I/O, no torch, no pettingzoo, no web.

``BankingSystem`` holds balance sheets, the interbank ledger and the markets;
``clearing`` has the Eisenberg-Noe and Rogers-Veraart clearing vectors;
``events`` is the event-stream schema.
"""

from interbank.sim.actions import ACTIONS, MARKETS, N_ACTIONS, PRIORITIES
from interbank.sim.system import BankingSystem, StepOutcome

__all__ = ["ACTIONS", "MARKETS", "N_ACTIONS", "PRIORITIES", "BankingSystem", "StepOutcome"]

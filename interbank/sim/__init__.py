"""The simulation core: pure numpy, no I/O, no torch, no pettingzoo, no web.

``state`` is the explicit state (``BankState``: balance sheets, the interbank
ledger, the markets, the books; ``Params``); ``phases`` the step as functions
``phase(state, params, ctx)`` that declare what they read and write; ``figures``
what is derived from the state (loan sums, equity, ratios, the action mask);
``defaults``, ``operations`` and ``interventions`` the transitions they share;
``BankingSystem`` the façade that holds a state and runs the step;
``clearing`` has the Eisenberg-Noe and Rogers-Veraart clearing vectors;
``events`` is the event-stream schema and ``event_data`` builds the state-wide
events' data.
"""

from interbank.sim.actions import ACTIONS, MARKETS, N_ACTIONS, PRIORITIES
from interbank.sim.system import BankingSystem, StepOutcome

__all__ = ["ACTIONS", "MARKETS", "N_ACTIONS", "PRIORITIES", "BankingSystem", "StepOutcome"]

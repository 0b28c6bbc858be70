"""The one vocabulary every front end shares, served at ``GET /api/vocabulary``.

Each list is declared once where it belongs and only collected here:

- policies and their parameters: ``interbank.policies.BASELINES`` (parameters read from each
  rule's constructor), and the one played when none is named (``DEFAULT_POLICY``);
- event types (with how the front ends show each) and central bank operations:
  ``interbank.sim.events`` (``EVENTS``; extensions register from ``interbank/sim/event_types/``);
- commands, the events they produce and session states: ``interbank.interactive.runner``;
- actions and priorities: ``interbank.sim.actions``;
- the central bank agent's choices at start (``interbank.policies.central_bank_setup``), its moves
  (``interbank.sim.central_bank``), its own operations (``interbank.sim.events``), its
  observation features (``interbank.envs.central_bank_observation``) and the facility's haircut
  settings (``interbank.sim.state.HAIRCUT_SCALES``: the value a ``set_haircuts`` event carries).

What is declared here is what exists only for people: the unit of each figure and of each
command's amount (:data:`UNITS`, :data:`FIELD_UNITS`, :data:`INTERVENTION_UNITS`). The server's
request models are built from these lists (``interbank.interactive.server``), the web page builds
its menus from the served object, and ``tests/interactive/test_vocabulary.py`` fails when an
event type or operation is neither handled by the page and the terminal nor on their ignore lists.
"""

from __future__ import annotations

from typing import Any

from interbank.config import CentralBankConfig
from interbank.envs.central_bank_observation import CB_FEATURES
from interbank.envs.interventions import MAX_AMOUNT
from interbank.policies.central_bank_setup import central_bank_catalogue
from interbank.interactive.runner import (
    CENTRAL_BANK_OPERATIONS,
    COMMAND_TABLE,
    COMMANDS,
    CONTROL_EVENT,
    FINISHED_STATES,
    INTERRUPTED,
    SESSION_COMMANDS,
    STATES,
)
from interbank.policies import DEFAULT_POLICY, policy_catalogue
from interbank.sim.actions import ACTIONS, PRIORITIES
from interbank.sim.central_bank import CB_ACTIONS
from interbank.sim.events import AGENT_OPERATIONS, CONTROL_EVENTS, EVENT_TYPES, EVENTS, FACILITY_OPERATIONS, SIMULATION_EVENTS
from interbank.sim.state import HAIRCUT_SCALES

# how a figure is shown: money in dollars; rates and ratios as percent (the wire carries fractions)
UNITS: dict[str, dict[str, Any]] = {
    "money": {"symbol": "$", "position": "prefix", "scale": 1, "label": "dollars"},
    "rate": {"symbol": "%", "position": "suffix", "scale": 100, "label": "percent a year"},
    "ratio": {"symbol": "%", "position": "suffix", "scale": 100, "label": "percent"},
    "count": {"symbol": "", "position": "suffix", "scale": 1, "label": "count"},
    "speed": {"symbol": "steps/s", "position": "suffix", "scale": 1, "label": "steps per second"},
    "price": {"symbol": "", "position": "suffix", "scale": 1, "label": "index points"},
}
# the unit of each figure the status, the header and the panels show
FIELD_UNITS: dict[str, str] = {
    "total_capital": "money", "amount": "money", "equity": "money", "cash": "money", "book": "money",
    "loans_out": "money", "borrowings": "money", "deposits": "money", "central_bank_loans": "money",
    "profit": "money", "losses": "money", "policy_rate": "rate", "interbank_rate": "rate",
    "min_capital_ratio": "ratio", "capital_ratio": "ratio", "lcr": "ratio", "return": "ratio",
    "active_banks": "count", "defaults": "count", "deleted": "count", "step": "count", "speed": "speed",
    "price": "price",
}
# each intervention's amount: its unit and the range the env accepts (in wire units: fractions)
INTERVENTION_UNITS: dict[str, dict[str, Any]] = {
    "inject": {"unit": "money", "min": 0, "min_exclusive": True, "max": MAX_AMOUNT, "bank": True,
               "label": "emergency liquidity to the bank shown"},
    "set_policy_rate": {"unit": "rate", "min": 0, "max": 1, "bank": False, "label": "policy rate"},
    "set_capital_requirement": {"unit": "ratio", "min": 0, "max": 1, "bank": False, "label": "minimum capital ratio"},
}
assert set(INTERVENTION_UNITS) == set(CENTRAL_BANK_OPERATIONS), "every intervention needs its unit"

# what each command needs, from the runner's table: the states it is allowed in (with
# ``interrupted`` where the store re-creates such a session for it) and the fields it takes
COMMAND_RULES: dict[str, dict[str, Any]] = {
    c.name: {"when": [*c.when, *([INTERRUPTED] if c.revives else [])], "takes": list(c.takes)} for c in COMMAND_TABLE
}


def vocabulary() -> dict[str, Any]:
    """The served vocabulary (JSON-ready)."""
    return {
        "policies": policy_catalogue(),
        "default_policy": DEFAULT_POLICY,  # what a start without policy or checkpoint plays
        "event_types": list(EVENT_TYPES),
        "simulation_events": list(SIMULATION_EVENTS),
        "control_events": list(CONTROL_EVENTS),
        # how the page shows each type: its own handler, a feed line from the template, or not at all
        "event_display": {name: {"display": EVENTS[name].display, "feed": EVENTS[name].feed} for name in EVENT_TYPES},
        "commands": [{"name": name, "event": CONTROL_EVENT.get(name), **COMMAND_RULES[name]}
                     for name in (*COMMANDS, *SESSION_COMMANDS)],
        "central_bank_operations": [{"name": op, **INTERVENTION_UNITS[op]} for op in CENTRAL_BANK_OPERATIONS],
        "facility_operations": list(FACILITY_OPERATIONS),
        # the central bank agent: who may play it at start, its own operations, moves and observation
        "central_banks": central_bank_catalogue(),
        # the rule of a central bank agent whose config names none (an init event's resolved config leaves it out)
        "central_bank_default_rule": CentralBankConfig.model_fields["rule"].default,
        "agent_operations": list(AGENT_OPERATIONS),
        "central_bank_moves": list(CB_ACTIONS),
        "central_bank_features": [{"name": name, "unit": unit} for name, unit in CB_FEATURES],
        "haircut_scales": dict(HAIRCUT_SCALES),
        "session_states": list(STATES),
        "live_states": [s for s in STATES if s not in FINISHED_STATES],
        "actions": list(ACTIONS),
        "priorities": list(PRIORITIES),
        "units": UNITS,
        "field_units": FIELD_UNITS,
    }

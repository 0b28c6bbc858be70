"""The event stream schema: one typed module for every producer.

Every event is ``{"seq", "step", "type", "data"}``: ``seq`` counts from 0 within
a run, ``step`` is the simulation step (0 for ``init``). Banks are named by their
agent name (``bank_3``). Money is in dollars, prices in index points, returns
and fractions are plain ratios. Nothing wall-clock goes inside ``data``, so a
run's stream is reproducible byte for byte.

The simulation core emits the simulation events; the interactive runner adds
the control events. Each type is an ``EventType`` in ``EVENTS`` (``register_event``): the
shipped ones below, more from ``interbank/sim/event_types/`` (one module each,
``regime_switch`` the example); ``EVENT_TYPES``, ``DATA_TYPES`` and the served vocabulary
derive from it. ``interbank schema`` exports these types as JSON Schema
(``interbank.schema``), and the tests validate every stream against it.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import string
from dataclasses import dataclass
from typing import Any, Literal

from typing_extensions import NotRequired, TypedDict  # pydantic needs it on Python < 3.12 to export the schema

from interbank.sim.actions import ACTIONS, HOLD, PRIORITIES

# the ``central_bank`` event's operations: the simulation's own, and the interventions a user asks for
FACILITY_OPERATIONS: tuple[str, ...] = ("lending_facility", "repayment")
INTERVENTIONS: tuple[str, ...] = ("inject", "set_policy_rate", "set_capital_requirement")
# what only the central bank agent decides (``interbank.sim.central_bank``; it also uses inject and set_policy_rate)
AGENT_OPERATIONS: tuple[str, ...] = ("hold", "set_ccyb", "set_haircuts")
DECISION_SOURCES: tuple[str, ...] = ("agent", "user")
CENTRAL_BANK_DECISIONS: tuple[str, ...] = (
    "hold", "rate_up", "rate_down", "ccyb_up", "ccyb_down", "haircuts_tight", "haircuts_normal", "haircuts_wide",
    "lend_systemic",
)

Priority = Literal[PRIORITIES]  # type: ignore[valid-type]
TRADES: tuple[str, ...] = tuple(a for i, a in enumerate(ACTIONS) if i != HOLD)  # the actions a transaction event records
MarketName = str  # one of the scenario's ``markets.names`` (BANK_INDEX and FIN_SERVICES by default)


class BankInit(TypedDict):
    id: str
    capital: float
    target_leverage: float
    risk: float


# Functional syntax because "return" is a Python keyword.
MarketState = TypedDict(
    "MarketState",
    {"name": MarketName, "price": float, "initial_price": float, "return": float, "last_return": float},
)


class Connection(TypedDict):
    lender: str
    borrower: str
    amount: float


class InitData(TypedDict):
    banks: list[BankInit]
    markets: list[MarketState]
    connections: list[Connection]
    config: dict[str, Any]


class StepStartData(TypedDict):
    active_banks: int


class TransactionData(TypedDict):
    bank: str
    action: Literal[TRADES]  # type: ignore[valid-type]
    counterparty: str | None
    market: MarketName | None
    amount: float
    priority: Priority


ProfitBookingData = TypedDict(
    "ProfitBookingData",
    {"bank": str, "market": MarketName, "invested": float, "return": float, "profit": float},
)


class DefaultData(TypedDict):
    bank: str
    equity: float
    cause: Literal["insolvency", "illiquidity", "contagion", "deleted"]


class CascadeData(TypedDict):
    trigger: list[str]
    defaulted: list[str]
    depth: int
    losses: float
    fire_sale_volume: float


class CentralBankData(TypedDict):
    """Central bank operations: ``lending_facility`` (a bank drew ``amount`` at ``rate``),
    ``repayment`` (a bank repaid ``amount``), and the interventions of the interactive runner:
    ``inject`` (emergency liquidity to ``bank``), ``set_policy_rate`` and
    ``set_capital_requirement`` (``value`` is the new rate or minimum ratio). A decision, not a
    facility's use, names its ``source``: ``user`` for a command typed in the interactive runner,
    ``agent`` for the ``central_bank`` agent, which also emits ``hold``, ``set_ccyb`` (``value``:
    the countercyclical buffer, a ratio) and ``set_haircuts`` (``value``: the haircuts' scale,
    1.5 tight, 1 normal, 0.5 wide), with its move as ``decision`` and what it saw as
    ``observation`` (its features by name); ``overridden``: a person's command stood for this
    step, so the agent held; ``snapshot``: for a user's ``inject``, the bank's sheet after it
    (as ``step_end`` shows it: a paused session's viewers see its new ratios at once)."""

    operation: Literal[FACILITY_OPERATIONS + INTERVENTIONS + AGENT_OPERATIONS]  # type: ignore[valid-type]
    bank: str | None
    amount: float
    rate: float
    value: float | None
    source: NotRequired[Literal[DECISION_SOURCES]]  # type: ignore[valid-type]
    decision: NotRequired[Literal[CENTRAL_BANK_DECISIONS]]  # type: ignore[valid-type]
    observation: NotRequired[dict[str, float | None]]
    overridden: NotRequired[bool]
    snapshot: NotRequired["BankSnapshot"]  # ``inject`` by a user: the bank's sheet after it


class BankSnapshot(TypedDict):
    id: str
    cash: float
    book: float
    loans_out: float
    borrowings: float
    investments: dict[str, float]
    deposits: float
    central_bank_loans: float
    equity: float
    leverage: float | None
    capital_ratio: float | None  # equity / risk-weighted assets (None once gone)
    lcr: float | None  # liquidity coverage ratio (None once gone)
    defaulted: bool
    deleted: bool
    priority: Priority  # the priority in force (the last one for gone banks)


class StepEndData(TypedDict):
    step: int
    active_banks: int
    defaults: int
    total_capital: float
    banks: list[BankSnapshot]
    markets: list[MarketState]
    totals: dict[str, float | int | None]


class CompleteData(TypedDict):
    reason: Literal["max_steps", "all_defaulted", "stopped"]
    summary: dict[str, Any]


class PausedData(TypedDict):
    step: int


class ResumedData(TypedDict):
    step: int


class StoppedData(TypedDict):
    step: int
    reason: str


class BankDeletedData(TypedDict):
    bank: str
    equity: float
    settlement: dict[str, float]
    snapshots: NotRequired[list[BankSnapshot]]  # the other banks whose sheets the settlement moved, after it


class CapitalAddedData(TypedDict):
    bank: str
    amount: float
    cash: float
    equity: float
    snapshot: NotRequired[BankSnapshot]  # the bank's sheet after it (its ratios with it: a paused page shows them)


@dataclass(frozen=True)
class EventType:
    """One event type of the stream, declared once: the schema, the served vocabulary, the
    terminal's feed and the page derive from it.

    ``name``: the event's ``type``; ``data``: the TypedDict of its ``data`` (fields and their
    JSON types; the exported JSON Schema forbids other keys); ``kind``: ``simulation`` (the core
    emits it) or ``control`` (the interactive runner does); ``display``: how the front ends show
    it: ``own`` (the terminal and the page have a handler of their own: the shipped types),
    ``feed`` (both show ``feed`` in their activity feed) or ``ignore`` (neither shows it: for
    machines, the JSONL log and the SSE stream still carry it); ``feed``: the feed's line, a
    template of ``{field}`` placeholders filled with the data's values."""

    name: str
    data: type
    kind: Literal["simulation", "control"] = "simulation"
    display: Literal["own", "feed", "ignore"] = "own"
    feed: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in ("simulation", "control"):
            raise ValueError(f"event {self.name}: kind must be simulation or control, got {self.kind!r}")
        if self.display not in ("own", "feed", "ignore"):
            raise ValueError(f"event {self.name}: display must be own, feed or ignore, got {self.display!r}")
        if (self.display == "feed") != (self.feed is not None):
            raise ValueError(f"event {self.name}: a feed line goes with display='feed' and only with it")
        fields = set(getattr(self.data, "__annotations__", {}))
        for _, key, spec, conversion in string.Formatter().parse(self.feed or ""):
            if key is not None and (key not in fields or spec or conversion):
                raise ValueError(f"event {self.name}: feed placeholder {{{key}}} must be a plain field of {sorted(fields)}")


EVENTS: dict[str, EventType] = {}
"""Every event type by name, in registration order (the shipped ones first)."""


def register_event(event: EventType) -> EventType:
    """Add an event type (a name already taken is an error: an existing event never changes).
    Call it when the declaring module is imported; ``interbank/sim/event_types/`` holds the
    extensions, one module each."""
    if event.name in EVENTS:
        raise ValueError(f"event type {event.name!r} is already registered")
    EVENTS[event.name] = event
    return event


for _name, _data in (("init", InitData), ("step_start", StepStartData), ("transaction", TransactionData),
                     ("profit_booking", ProfitBookingData), ("default", DefaultData), ("cascade", CascadeData),
                     ("central_bank", CentralBankData), ("step_end", StepEndData), ("complete", CompleteData)):
    register_event(EventType(_name, _data, "simulation"))
for _name, _data in (("paused", PausedData), ("resumed", ResumedData), ("stopped", StoppedData),
                     ("bank_deleted", BankDeletedData), ("capital_added", CapitalAddedData)):
    register_event(EventType(_name, _data, "control"))


def _load_extensions() -> None:
    """Import every module of ``interbank/sim/event_types/``: each registers its event type."""
    from interbank.sim import event_types

    for module in pkgutil.iter_modules(event_types.__path__):
        importlib.import_module(f"{event_types.__name__}.{module.name}")


_load_extensions()
SIMULATION_EVENTS: tuple[str, ...] = tuple(e.name for e in EVENTS.values() if e.kind == "simulation")
CONTROL_EVENTS: tuple[str, ...] = tuple(e.name for e in EVENTS.values() if e.kind == "control")
EVENT_TYPES: tuple[str, ...] = SIMULATION_EVENTS + CONTROL_EVENTS
DATA_TYPES: dict[str, type] = {name: EVENTS[name].data for name in EVENT_TYPES}


def feed_line(event: "Event") -> str | None:
    """The feed's line of an event whose type declares one (``display='feed'``), else None."""
    declared = EVENTS.get(event["type"])
    if declared is None or declared.feed is None:
        return None
    return declared.feed.format_map({k: v for k, v in event["data"].items()})


class Event(TypedDict):
    seq: int
    step: int
    type: str
    data: dict[str, Any]


class EventLog:
    """Collects events with contiguous ``seq`` numbers.

    ``enabled=False`` turns the stream off (as in training): ``emit`` then does
    nothing, so producers can call it unconditionally.
    """

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self.seq = 0
        self.pending: list[Event] = []

    def emit(self, step: int, type_: str, data: dict[str, Any]) -> None:
        if not self.enabled:
            return
        self.pending.append({"seq": self.seq, "step": int(step), "type": type_, "data": data})
        self.seq += 1

    def drain(self) -> list[Event]:
        out, self.pending = self.pending, []
        return out


def dumps(event: Event) -> str:
    """The canonical one-line JSON form of an event (JSONL, SSE ``data``)."""
    return json.dumps(event, separators=(",", ":"), allow_nan=False)

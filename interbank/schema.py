"""JSON Schema of the event stream, generated from the typed module ``interbank.sim.events``."""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter

from interbank.sim.events import DATA_TYPES, EVENT_TYPES


def _close_objects(node: Any) -> None:
    """Forbid unknown keys on every object that lists its properties."""
    if isinstance(node, dict):
        if node.get("type") == "object" and "properties" in node:
            node.setdefault("additionalProperties", False)
        for value in node.values():
            _close_objects(value)
    elif isinstance(node, list):
        for value in node:
            _close_objects(value)


def event_schema() -> dict[str, Any]:
    """One JSON Schema (draft 2020-12) that every event of every producer satisfies."""
    defs: dict[str, Any] = {}
    variants = []
    for type_name, data_type in DATA_TYPES.items():
        sub = TypeAdapter(data_type).json_schema(ref_template="#/$defs/{model}")
        defs.update(sub.pop("$defs", {}))
        title = sub.get("title", data_type.__name__)
        defs[title] = sub
        variants.append({
            "properties": {"type": {"const": type_name}, "data": {"$ref": f"#/$defs/{title}"}},
        })
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://interbank.dev/schema/event.json",
        "title": "interbank event",
        "description": "One event of an interbank run: seq counts from 0 within a run, step is the simulation step.",
        "type": "object",
        "required": ["seq", "step", "type", "data"],
        "additionalProperties": False,
        "properties": {
            "seq": {"type": "integer", "minimum": 0},
            "step": {"type": "integer", "minimum": 0},
            "type": {"enum": list(EVENT_TYPES)},
            "data": {"type": "object"},
        },
        "oneOf": variants,
        "$defs": defs,
    }
    _close_objects(schema["$defs"])
    return schema

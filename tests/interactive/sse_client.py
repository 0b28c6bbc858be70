"""A tiny SSE reader for tests (httpx streams, parsed per the EventSource spec)."""

from __future__ import annotations

import json

import httpx

from tests.deadlines import HANG_S


def read_events(url: str, headers: dict | None = None, limit: int | None = None, timeout: float = HANG_S) -> list[dict]:
    """Read events until the server closes the stream (or ``limit`` events). Returns the event
    dicts with ``_id`` and ``_event`` (the SSE fields) added."""
    out: list[dict] = []
    with httpx.stream("GET", url, headers=headers or {}, timeout=timeout) as response:
        response.raise_for_status()
        out.extend(parse(response.iter_lines(), limit))
    return out


def parse(lines, limit: int | None = None):
    fields: dict[str, str] = {}
    count = 0
    for line in lines:
        if line == "":
            if "data" in fields:
                event = json.loads(fields["data"])
                event["_id"], event["_event"] = fields.get("id"), fields.get("event")
                yield event
                count += 1
                if limit is not None and count >= limit:
                    return
            fields = {}
        elif line.startswith(":"):
            continue
        else:
            key, _, value = line.partition(":")
            fields[key] = value[1:] if value.startswith(" ") else value


def read_data(url: str, timeout: float = HANG_S) -> list[str]:
    """The raw ``data`` field of every event until the server closes the stream (byte-level checks)."""
    out: list[str] = []
    with httpx.stream("GET", url, timeout=timeout) as response:
        response.raise_for_status()
        for line in response.iter_lines():
            if line.startswith("data:"):
                out.append(line[5:].lstrip(" "))
    return out

"""The stream's canonical JSON lines, encoded fast: the bytes of ``interbank.sim.events.dumps``.

A step at 10,000 banks hands out ~10,000 events (a booking step ~30,000) and a 4 MB ``step_end``;
encoding them with the standard library's ``json`` took most of a 200 ms step (the pace of 5
steps/s). ``orjson`` encodes them ~3x faster and writes the same bytes except in a few forms,
which are recognised in its output and re-encoded with ``dumps`` (the smallest part of the event
that holds them: see :func:`_encode`):

- a float below 1e-4 in magnitude (Python writes ``1e-05``, orjson ``0.00001``): any ``0.0000``;
- any exponent (a digit followed by ``e``), whatever each library writes after it;
- any byte 0x7F or above (Python escapes non-ASCII characters and DEL as ``\\uXXXX``).

A false alarm (such text inside a string) only costs the slower encoding. Without orjson installed
every event goes through ``dumps``. One difference is left: a non-finite number, which ``dumps``
refuses (``allow_nan=False``), orjson writes as ``null``; the simulation never emits one.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from itertools import accumulate
from collections.abc import Sequence
from typing import NamedTuple

from interbank.sim.events import Event, dumps

try:
    import orjson
except ImportError:  # pragma: no cover - orjson is a dependency; the slow path stays correct
    orjson = None

_EXPONENT = re.compile(rb"e[-+0-9]")  # orjson writes exponents with a lower-case e
# what json.dumps refuses (a dataclass, a datetime, a subclass such as an Enum of str) orjson must
# refuse too: then dumps decides, and raises as it always did
_STRICT = 0 if orjson is None else (orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_DATETIME
                                    | orjson.OPT_PASSTHROUGH_SUBCLASS)


def _same_as_dumps(line: bytes) -> bool:
    """Whether orjson's ``line`` is certainly what ``dumps`` writes (tests on 4 MB take a few ms:
    no regex alternation, which scans at every position)."""
    return line.isascii() and b"\x7f" not in line and b"0.0000" not in line and _EXPONENT.search(line) is None


def line_of(event: Event) -> bytes:
    """The canonical JSON line of one event (no newline), as UTF-8 bytes: ``dumps(event).encode()``."""
    if orjson is None:
        return dumps(event).encode()
    try:
        line = orjson.dumps(event, option=_STRICT)
    except TypeError:  # a type or key orjson does not take (JSONEncodeError is one): dumps decides
        return dumps(event).encode()
    return _as_dumps(event, line)


def _as_dumps(event: Event, line: bytes) -> bytes:
    """orjson's ``line`` of ``event``, mended where it may differ from ``dumps``'s."""
    if not line.isascii() or b"\x7f" in line or b"\\\\" in line:
        return _encode(event)  # strings that differ (or a backslash that hides which quotes are real)
    if b"0.0000" not in line and _EXPONENT.search(line) is None:
        return line
    patched = _patched(line, sorted({m.start() for m in _EXPONENT.finditer(line)} | set(_finds(line, b"0.0000"))))
    return patched if patched is not None else _encode(event)


def lines_of(events: Sequence[Event]) -> list[bytes]:
    """:func:`line_of` of each event, in order. The events are encoded by one orjson call (a call per
    event cost 4x more at 10,000 banks) and cut apart where one event ends and the next begins
    (``},{"seq":``: every event starts with its seq, checked first); the checks run once over all
    of them, and only the lines something falls in are mended. Should a string hold that boundary,
    there are more parts than events and each event is encoded on its own instead."""
    if orjson is None:
        return [dumps(event).encode() for event in events]
    if not events:
        return []
    if not all(type(event) is dict and next(iter(event), None) == "seq" for event in events):
        return _each(events)  # every event must start with its seq for every boundary to be one
    try:
        whole = orjson.dumps(list(events), option=_STRICT)
    except TypeError:
        return [line_of(event) for event in events]
    parts = whole[1:-1].split(b'},{"seq":')
    if len(parts) != len(events):
        return _each(events)
    last = len(parts) - 1
    lines = [(b'{"seq":' if k else b"") + part + (b"}" if k < last else b"") for k, part in enumerate(parts)]
    return _mended(events, lines, whole, 1)


class Cut(NamedTuple):
    """A batch of events encoded as their canonical JSON lines, line ``k`` being
    ``head + parts[k] + tail`` (bytes): the lines cut out of one encoding of the batch without
    a copy per line (``head``, ``tail``: the text every line starts and ends with)."""

    parts: list[bytes]
    head: bytes = b""
    tail: bytes = b""

    def stream(self) -> bytes:
        """The lines, each ending in a newline (JSONL)."""
        if not self.parts:
            return b""
        return self.head + (self.tail + b"\n" + self.head).join(self.parts) + self.tail + b"\n"


_HEAD, _TAIL, _BOUNDARY = b'{"seq":', b"}", b'},{"seq":'


def cut_of(events: Sequence[Event]) -> Cut:
    """The canonical JSON lines of ``events`` (those of :func:`lines_of`), cut out of one orjson
    encoding of the batch. The numbers ``dumps`` writes otherwise are mended in the batch's text
    and it is split at the boundaries between events (``},{"seq":``, which no string holds: its
    quotes would be escaped), with no Python bytecode run per event (a step at 10,000 banks has
    ~10,000). Where that cannot be done (an event not a dict starting with its seq, a nested
    boundary, text that may differ), the parts are the lines of :func:`lines_of`."""
    if orjson is None or not events:
        return Cut(lines_of(events))
    n = len(events)
    # C-level checks: every event a dict whose first key is "seq"
    if set(map(type, events)) != {dict} or list(map(next, map(iter, events))).count("seq") != n:
        return Cut(lines_of(events))
    try:
        whole = orjson.dumps(list(events), option=_STRICT)
    except TypeError:
        return Cut(lines_of(events))
    if not whole.isascii() or b"\x7f" in whole or b"\\\\" in whole:
        return Cut(lines_of(events))
    hits = sorted({m.start() for m in _EXPONENT.finditer(whole)} | set(_finds(whole, b"0.0000")))
    if hits:
        patched = _patched(whole, hits)
        if patched is None:
            return Cut(lines_of(events))
        whole = patched
    parts = whole[len(b"[" + _HEAD):-len(_TAIL + b"]")].split(_BOUNDARY)
    if len(parts) != n:
        return Cut(lines_of(events))
    return Cut(parts, _HEAD, _TAIL)


def stream_of(events: Sequence[Event]) -> bytes:
    """The events' canonical JSON lines, each ending in a newline (JSONL): the bytes of
    ``b"".join(line_of(e) + b"\\n" for e in events)``."""
    return cut_of(events).stream()


def _each(events: Sequence[Event]) -> list[bytes]:
    lines = [orjson.dumps(event, option=_STRICT) for event in events]
    return _mended(events, lines, b"".join(lines), 0)


def _mended(events: Sequence[Event], lines: list[bytes], joined: bytes, gap: int) -> list[bytes]:
    """``lines`` (orjson's, of ``events``) as ``dumps`` writes them. ``joined``: the lines with
    ``gap`` bytes before each (a bracket or comma), in which the differences are looked for."""
    if not joined.isascii() or b"\x7f" in joined:
        return [_as_dumps(event, line) for event, line in zip(events, lines)]
    hits = [m.start() for m in _EXPONENT.finditer(joined)] + _finds(joined, b"0.0000")
    if not hits:
        return lines
    # mend only the lines they fall in, from the hits found (positions in the line)
    ends = list(accumulate(len(line) + gap for line in lines))
    where: dict[int, list[int]] = {}
    for hit in hits:
        k = bisect_right(ends, hit)
        where.setdefault(k, []).append(hit - (ends[k - 1] if k else 0) - gap)
    for k, local in where.items():
        line = lines[k]
        patched = None if b"\\\\" in line else _patched(line, sorted(set(local)))
        lines[k] = patched if patched is not None else _encode(events[k])
    return lines


_NUMBER = frozenset(b"0123456789.-+eE")


def _patched(line: bytes, hits: list[int]) -> bytes | None:
    """orjson's ``line`` with each number written as Python writes it (``repr`` of the same float: orjson
    writes the shortest form that reads back as the same float). Hits inside strings are left as they
    are (an ASCII string is written alike by both); ``None`` where a hit is not plainly a number.
    ``hits``: where to look (ascending); no backslash may be escaped in ``line``."""
    escapes = b"\\" in line  # else no quote is escaped: count them all
    out: list[bytes] = []
    last = counted = quotes = 0
    for hit in hits:
        if hit < last:
            continue  # inside a number already rewritten
        # quotes before the hit, less escaped ones (no backslash is escaped here: every \" is one)
        quotes += line.count(b'"', counted, hit) - (line.count(b'\\"', max(counted - 1, 0), hit) if escapes else 0)
        counted = hit
        if quotes % 2:
            continue  # inside a string
        start, end = hit, hit
        while start > 0 and line[start - 1] in _NUMBER:
            start -= 1
        while end < len(line) and line[end] in _NUMBER:
            end += 1
        if line[start - 1:start] not in (b":", b",", b"[") or line[end:end + 1] not in (b",", b"]", b"}"):
            return None
        try:
            number = float(line[start:end])
        except ValueError:
            return None
        out += [line[last:start], repr(number).encode()]
        last = end
    out.append(line[last:])
    return b"".join(out)


def _finds(line: bytes, text: bytes) -> list[int]:
    found, at = [], line.find(text)
    while at >= 0:
        found.append(at)
        at = line.find(text, at + 1)
    return found


def _encode(value: object) -> bytes:
    """``value`` encoded by orjson where that gives ``dumps``'s bytes; where it may not, a dict is
    encoded member by member and a list cut in halves until the parts that differ are found (so
    one tiny float in a 4 MB ``step_end`` re-encodes one bank's figures, not the event), and a
    scalar goes to ``dumps``."""
    try:
        line = orjson.dumps(value, option=_STRICT)
    except TypeError:  # a type or key orjson does not take (JSONEncodeError is one): dumps decides
        return dumps(value).encode()
    if _same_as_dumps(line):
        return line
    if isinstance(value, (list, tuple)):
        return b"[" + b",".join(_halves(list(value))) + b"]"
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return b"{" + b",".join([_encode(k) + b":" + _encode(v) for k, v in value.items()]) + b"}"
    return dumps(value).encode()


def _halves(items: list) -> list[bytes]:
    """The members of a list encoded, without brackets, in parts: a part orjson writes as ``dumps``
    does is kept whole, others are halved down to single members (:func:`_encode`)."""
    if len(items) == 1:
        return [_encode(items[0])]
    mid = len(items) // 2
    out = []
    for part in (items[:mid], items[mid:]):
        try:
            line = orjson.dumps(part, option=_STRICT)
        except TypeError:
            line = b""
        out.extend([line[1:-1]] if line and _same_as_dumps(line) else _halves(part))
    return out



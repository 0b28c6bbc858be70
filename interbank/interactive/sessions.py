"""Server sessions: one runner each, stepped by a producer thread, watched by any number of viewers.

Memory stays bounded whatever a session's size and length:

- the stream history in memory is a window of the newest events (``window_bytes``
  of encoded frames); every event is also on disk: in the server's session
  database (:class:`DbSpill` over :class:`~interbank.interactive.store.Store`, the
  whole stream, kept across restarts) or, without one, in the session's JSONL spill
  (:class:`Spill`, the newest ``spill_bytes`` kept), so ``Last-Event-ID``
  resumes exactly from older events too, or gets a 410 once they are gone;
- with a database, the sessions of earlier runs are read back on demand
  (:meth:`Session.stored`: a :class:`StoredRunner` in place of the runner); an
  interrupted one is re-created by replaying its stream (:meth:`SessionStore.restore`);
- viewers share that window: each event is encoded once, and a viewer is only a
  position in the stream (:class:`Viewer`). Each publish appends to the window
  and wakes the viewers with one event; each viewer's generator then sends what
  lies between its position and the end, at its own pace, as one write (the
  bytes joined once and shared by every viewer at the same position). The
  producer never waits on a viewer and does no per-viewer work; a viewer that
  lags out of the window is re-fed from the spill on the same connection
  (``resynced_viewers``); one whose write does not complete while more than
  ``buffer`` events behind is counted dropped (and no longer a viewer) until the
  write completes, when it goes on from where it was (``resynced_viewers``); one
  that never reads again ends at the send timeout and may reconnect with
  ``Last-Event-ID``;
- a finished session gives its simulation back at once (:meth:`Runner.release`: only
  its stream window, init event, last exposures and those just before defaults stay), and is evicted
  ``finished_ttl`` seconds after it ends (its spill removed);
- a server-wide ``memory_budget`` admits a new session before anything is built,
  from its estimated footprint (:func:`session_footprint`, measured at 1,000 and
  10,000 banks) beside the sessions kept, or refuses it with 503. Resident memory
  is not consulted: memory the allocator keeps after a session ended would
  otherwise refuse every later start.

Each session steps in a thread of its own (:meth:`Session.drive`), on a fixed
schedule, and encodes its events there: however busy the event loop is with
viewers, the session keeps its pace. Commands (on the loop) take the session's
step lock, so they land between two steps. The pacing between steps waits on an
event that every command sets, in slices of at most ``MAX_WAIT`` seconds: pause
and stop take effect within one tick at any speed.
"""

from __future__ import annotations

import asyncio
import ctypes
import json
import os
import re
import shutil
import tempfile
import threading
import time
import uuid
from bisect import bisect_right
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import accumulate
from operator import itemgetter
from pathlib import Path
from typing import Any, BinaryIO

from interbank.interactive.runner import FINISHED_STATES, INTERRUPTED, CommandError, Runner, Status, exposure_answer
from interbank.interactive.store import Store, StoredSession
from interbank.interactive.encoding import cut_of, line_of
from interbank.sim.events import Event

MAX_WAIT = 0.25  # seconds: the longest the pacing sleeps without looking at the session's state
STREAM_BYTES_PER_BANK_STEP = 900  # encoded stream per bank and step (measured 860 at 10,000 banks, stress, heuristic)
# a runner's arrays, its exposure snapshots (64 steps) and one step's transient events, at its peak:
# measured on configs/stress.yaml over 70 steps, +20 MB at 1,000 banks (hold) and +134 MB at 10,000
# (heuristic; +126 MB with hold)
RUNNER_BYTES_PER_BANK = 15_000
RUNNER_BASE_BYTES = 1_000_000
ITEM_OVERHEAD = 200  # bytes of Python objects per event in the history window (generous: its seq and offset in its item)
MAX_WRITE_BYTES = 1_000_000  # the most one write to a viewer carries (a lagging viewer catches up in several)
JOINED_KEPT = 8  # joined writes kept for viewers at the same position (usually all are at one)


_FRAME = b"id: %d\r\nevent: %s\r\ndata: %s\r\n\r\n"
_SEQ_OF, _TYPE_OF = itemgetter("seq"), itemgetter("type")


def frame_of(seq: int, type_: str, data: bytes) -> bytes:
    """One SSE frame: ``id`` = seq, ``event`` = type, ``data`` = the event's canonical JSON line."""
    return _FRAME % (seq, type_.encode(), data)


@dataclass
class Item:
    """One publish of the stream (a step's events, or a command's), encoded once for every viewer:
    ``seq`` and ``last``, its first and last event's seq; ``frame``, their SSE frames joined;
    ``seqs`` and ``starts``, each event's seq and where its frame starts in ``frame`` (``None``:
    the item is one event). One item per publish, not per event: at 10,000 banks a step has
    ~10,000 events, and an object per event cost the stepping thread more than encoding them."""

    seq: int
    frame: bytes
    last: int = -1
    seqs: list[int] | None = None
    starts: list[int] | None = None

    def __post_init__(self) -> None:
        if self.last < 0:
            self.last = self.seq

    @classmethod
    def of(cls, event: Event) -> Item:
        return cls(event["seq"], frame_of(event["seq"], event["type"], line_of(event)))

    @classmethod
    def batch(cls, seqs: list[int], frames: list[bytes]) -> Item:
        """The item of consecutive events' ``frames`` (their ``seqs``, ascending)."""
        if len(frames) == 1:
            return cls(seqs[0], frames[0])
        return cls(seqs[0], b"".join(frames), seqs[-1], seqs, list(accumulate(map(len, frames[:-1]), initial=0)))

    def after(self, seq: int) -> bytes:
        """The frames of this item's events with a seq above ``seq``."""
        if seq < self.seq:
            return self.frame
        if seq >= self.last or self.seqs is None or self.starts is None:
            return b""
        return self.frame[self.starts[bisect_right(self.seqs, seq)]:]


class Window:
    """The newest items of a stream, addressed by absolute position (``base`` is the position
    of the oldest one kept): O(1) append, pop from the left, index and slice."""

    def __init__(self) -> None:
        self._items: list[Item] = []
        self._head = 0  # items before it in _items are gone (compacted now and then)
        self.base = 0

    def __len__(self) -> int:
        return len(self._items) - self._head

    def __getitem__(self, k: int) -> Item:
        if not -len(self) <= k < len(self):
            raise IndexError(k)
        return self._items[self._head + k if k >= 0 else k]

    def __iter__(self) -> Iterator[Item]:
        return iter(self._items[self._head:])

    @property
    def end(self) -> int:
        """The position after the newest item (every item ever appended)."""
        return self.base + len(self)

    def append(self, item: Item) -> None:
        self._items.append(item)

    def popleft(self) -> Item:
        item = self[0]
        self._head += 1
        self.base += 1
        if self._head > 1024 and self._head * 2 > len(self._items):
            del self._items[:self._head]
            self._head = 0
        return item

    def slice(self, start: int, stop: int) -> list[Item]:
        """The items at positions ``start`` to ``stop`` (absolute; both within the window)."""
        offset = self._head - self.base
        return self._items[start + offset:stop + offset]

    def clear(self) -> None:
        self.base = self.end
        self._items, self._head = [], 0


class Viewer:
    """One SSE client of a session: ``pos``, the position in the session's history of the next
    event to send it, and ``sent``, the seq of the last event sent. It holds no events: every
    viewer reads the shared history. ``dropped``: it stopped reading while too far behind."""

    __slots__ = ("dropped", "pos", "sent")

    def __init__(self, pos: int, sent: int) -> None:
        self.pos, self.sent = pos, sent
        self.dropped = False


_LINE = re.compile(rb'^\{"seq":(\d+),"step":-?\d+,"type":"([A-Za-z_]+)"')


class Spill:
    """A session's events as JSONL files in ``folder`` (segments of ``segment_bytes``), the
    oldest removed beyond ``max_bytes``. A write error (a full disk) stops the spill and
    leaves no half line; ``error`` says why, and older events are then answered 410."""

    def __init__(self, folder: Path, max_bytes: int) -> None:
        self.folder = folder
        self.max_bytes = max_bytes
        self.segment_bytes = max(64_000, max_bytes // 8)
        self.segments: list[tuple[int, Path]] = []  # (first seq, file), oldest first
        self.sizes: list[int] = []
        self.file: BinaryIO | None = None
        self.error: str | None = None
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            self.error = f"cannot create {folder}: {err.strerror}"

    @property
    def oldest(self) -> int | None:
        """The first seq still on disk (None: nothing is)."""
        return self.segments[0][0] if self.segments and self.error is None else None

    def write_batch(self, first: int, last: int, lines: bytes, status: Status) -> None:
        """Append one publish's events (seqs ``first`` to ``last``, their JSONL ``lines``) to the
        newest segment (a new one when it is full); ``status`` is for the store's spill."""
        if self.error is not None:
            return
        try:
            if self.file is None or self.sizes[-1] >= self.segment_bytes:
                self._rotate(first)
            self.file.write(lines)
            self.sizes[-1] += len(lines)
        except OSError as err:
            self._fail(err)

    def _rotate(self, seq: int) -> None:
        if self.file is not None:
            self.file.close()
        path = self.folder / f"{seq:012d}.jsonl"
        self.file = path.open("wb")
        self.segments.append((seq, path))
        self.sizes.append(0)
        while len(self.segments) > 1 and sum(self.sizes) > self.max_bytes:
            _, old = self.segments.pop(0)
            self.sizes.pop(0)
            old.unlink(missing_ok=True)

    def _fail(self, err: OSError) -> None:
        self.error = f"the session's spill could not be written ({err.strerror or err})"
        if self.file is not None:
            try:  # never leave a half line behind
                self.file.flush()
            except OSError:
                pass
            try:
                self.file.truncate(self.sizes[-1])
                self.file.close()
            except OSError:
                pass
            self.file = None

    def flush(self) -> None:
        if self.file is not None and self.error is None:
            try:
                self.file.flush()
            except OSError as err:
                self._fail(err)

    def read(self, after: int, upto: int, chunk_bytes: int = 1_000_000) -> Iterator[bytes]:
        """SSE frames of the events with ``after < seq <= upto``, in chunks (iterate in a thread:
        it reads files). The caller flushed first; a segment removed meanwhile ends the read early."""
        segments = [s for k, s in enumerate(self.segments)
                    if k + 1 == len(self.segments) or self.segments[k + 1][0] > after + 1]
        return self._frames(segments, after, upto, chunk_bytes)

    @staticmethod
    def _frames(segments: list[tuple[int, Path]], after: int, upto: int, chunk_bytes: int) -> Iterator[bytes]:
        def lines() -> Iterator[bytes]:
            for first, path in segments:
                if first > upto:
                    return
                try:
                    handle = path.open("rb")
                except OSError:
                    return
                with handle:
                    for line in handle:
                        if not line.endswith(b"\n"):
                            return  # a line the producer is still writing: past ``upto`` anyway
                        yield line

        return frames_of(lines(), after, upto, chunk_bytes)

    def remove(self) -> None:
        if self.file is not None:
            try:
                self.file.close()
            except OSError:
                pass
            self.file = None
        shutil.rmtree(self.folder, ignore_errors=True)
        self.segments.clear()
        self.sizes.clear()


def frames_of(lines: Iterable[bytes], after: int, upto: int, chunk_bytes: int = 1_000_000) -> Iterator[bytes]:
    """SSE frames of the JSONL ``lines`` (events in seq order) with ``after < seq <= upto``, joined
    in chunks of about ``chunk_bytes``."""
    out: list[bytes] = []
    size = 0
    for line in lines:
        match = _LINE.match(line)
        if match is None:  # not our canonical form: parse it (never expected)
            event = json.loads(line)
            seq, type_ = int(event["seq"]), str(event["type"])
        else:
            seq, type_ = int(match[1]), match[2].decode()
        if seq <= after:
            continue
        if seq > upto:
            break
        out.append(frame_of(seq, type_, line.rstrip(b"\n")))
        size += len(out[-1])
        if size >= chunk_bytes:
            yield b"".join(out)
            out, size = [], 0
    if out:
        yield b"".join(out)


class DbSpill:
    """A session's stream in the server's :class:`~interbank.interactive.store.Store` (the interface
    of :class:`Spill`): every publish is one chunk, queued here and committed by the store's writer."""

    def __init__(self, store: Store, sid: str) -> None:
        self.store, self.sid = store, sid

    @property
    def error(self) -> str | None:
        return self.store.error

    @property
    def oldest(self) -> int | None:
        """The first seq that can be read back in full (0 unless retention cut the stream)."""
        return None if self.store.error is not None else self.store.gaps.get(self.sid, -1) + 1

    def write_batch(self, first: int, last: int, lines: bytes, status: Status) -> None:
        self.store.append(self.sid, first, last, lines, status.as_dict())

    def flush(self) -> None:
        """Nothing: :meth:`read` waits for the writer instead (in the reading thread)."""

    def read(self, after: int, upto: int, chunk_bytes: int = 1_000_000) -> Iterator[bytes]:
        """SSE frames of the events with ``after < seq <= upto`` (iterate in a thread: it waits for
        the store's writer to commit them, then reads the database)."""
        def lines() -> Iterator[bytes]:
            self.store.wait(self.sid, upto)
            for chunk in self.store.lines(self.sid, after, upto):
                yield from chunk.splitlines(keepends=True)

        return frames_of(lines(), after, upto, chunk_bytes)

    def remove(self) -> None:
        """Nothing: a stored session stays until the store's retention drops it."""


class StoredRunner:
    """What a session read back from the store answers in place of its runner until it is
    re-created (:meth:`SessionStore.restore`): its last stored status, in state ``interrupted``
    when it did not finish; its init event (read from the store). It takes no command."""

    env = None
    policy = None

    def __init__(self, record: StoredSession, store: Store) -> None:
        self.state = record.state if record.finished else INTERRUPTED
        known = {k: v for k, v in record.status.items() if k in Status.__dataclass_fields__}
        blank = {"step": 0, "max_steps": 0, "active_banks": 0, "defaults": 0, "deleted": 0, "total_capital": 0.0,
                 "policy_rate": 0.0, "min_capital_ratio": 0.0}
        self._status = Status(**{**blank, **known, "state": self.state})
        self._store, self._sid = store, record.id

    @property
    def finished(self) -> bool:
        return self.state in FINISHED_STATES

    def status(self) -> Status:
        return self._status

    @property
    def init_event(self) -> Event:
        line = self._store.init_line(self._sid)
        if line is None:
            raise CommandError(404, f"session {self._sid} has no stored init event (the server stopped before it was written)")
        return json.loads(line)

    def exposures(self, step: int | None = None, limit: int | None = None) -> dict[str, Any] | None:
        """A finished session's exposures from the snapshots stored when it ended (its last step and
        those just before defaults, as its runner kept them); an interrupted one has none."""
        snap = self._store.exposures(self._sid, step) if self.finished else None
        return exposure_answer(snap, limit) if snap is not None else None

    def take_events(self) -> list[Event]:
        return []

    def release(self) -> None:
        pass

    def command(self, name: str, *args: Any) -> Event:
        raise CommandError(409, f"{name} refused: the session is {self.state}")


class StepLock:
    """A session's step lock, held by its producer thread around each step and taken by commands
    on the event loop (``async with``) without blocking the loop while a step runs."""

    def __init__(self) -> None:
        self.sync = threading.Lock()
        self.waiting = 0  # commands waiting for it: the producer lets them in before its next step

    async def __aenter__(self) -> None:
        self.waiting += 1
        try:
            wait = 0.0002
            while not self.sync.acquire(blocking=False):  # polled: a cancelled request never holds it
                await asyncio.sleep(wait)
                wait = min(wait * 2, 0.002)
        finally:
            self.waiting -= 1

    def yield_to_commands(self, stopping: Callable[[], bool]) -> None:
        """In the producer, before a step: wait while commands are waiting for the lock (it is not
        fair: at speed 0 the producer would otherwise take it again at once, every time)."""
        while self.waiting and not stopping():
            time.sleep(0.001)

    async def __aexit__(self, *exc: object) -> None:
        self.sync.release()


def session_footprint(n_banks: int, window_bytes: int, max_steps: int | None = None) -> int:
    """Estimated memory of one session: its runner, its history window and what its viewers
    may hold beyond it (another window). A window holds at least one step's stream and at most
    the whole stream of a ``max_steps`` episode."""
    step = STREAM_BYTES_PER_BANK_STEP * n_banks
    window = window_bytes if max_steps is None else min(window_bytes, step * (max_steps + 2))
    return RUNNER_BASE_BYTES + RUNNER_BYTES_PER_BANK * n_banks + 2 * max(window, step)


@dataclass
class Session:
    """A running simulation: ``runner``, the newest events in ``history`` (the rest in ``spill``)
    and its ``viewers``, each reading the shared history at its own pace."""

    id: str
    runner: Runner | StoredRunner
    speed: float  # steps per second; 0 = as fast as possible
    buffer: int  # events a viewer whose write does not complete may fall behind before it is dropped
    window_bytes: int = 8_000_000
    spill: Spill | DbSpill | None = None
    footprint: int = 0
    created: float = field(default_factory=time.time)
    history: Window = field(default_factory=Window)
    history_bytes: int = 0
    viewers: set[Viewer] = field(default_factory=set)
    dropped_viewers: int = 0
    finished_at: float | None = None
    task: asyncio.Task | None = None
    parent: str | None = None  # the session this one was branched from
    settings: dict[str, Any] | None = None  # what it was started with (the page's Setup form shows it)
    n_banks: int = 0
    fork_step: int | None = None
    resynced_viewers: int = 0  # re-feeds of lagging viewers (dropped ones that read again, or from the spill)
    restoring: bool = False  # being re-created from the store

    def __post_init__(self) -> None:
        self.lock = StepLock()
        self.wake = threading.Event()  # set by every command: the producer's waits end at once
        self.done = asyncio.Event()
        self.tick = asyncio.Event()  # set (and replaced) at every publish: wakes every viewer at once
        self._last_seq = -1
        self._published = self.runner.status()  # the runner's status as of the events published so far
        self._history_lock = threading.Lock()  # the producer thread appends while the loop's viewers read
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        self._stopping = False  # set when the drive is cancelled: the producer thread ends
        self._sending: set[Viewer] = set()  # viewers whose write has not completed yet
        self._joined: dict[int, tuple[int, int, bytes]] = {}  # start -> (stop, last seq, frames), shared
        self.n_banks = self.n_banks or self.runner.env.system.n
        self.publish(self.runner.take_events())

    # ------------------------------------------------------------- events
    def publish(self, events: list[Event]) -> None:
        """Append events to the history (and the spill) and wake the viewers: O(events), whatever
        the number of viewers (only those stuck in a write are looked at, to drop the stalled)."""
        if not events:
            self._published = self.runner.status()
            return
        # encoded outside the lock, into one item: the JSONL blob (the spill's) and the SSE frames
        # cut from it, made by C-level maps (no bytecode per event: ~10,000 a step at 10,000 banks)
        seqs = list(map(_SEQ_OF, events))
        cut = cut_of(events)
        frame = b"id: %d\r\nevent: %s\r\ndata: " + cut.head + b"%s" + cut.tail + b"\r\n\r\n"
        item = Item.batch(seqs, list(map(frame.__mod__, zip(seqs, map(str.encode, map(_TYPE_OF, events)), cut.parts))))
        blob = cut.stream() if self.spill is not None else b""
        with self._history_lock:
            self.history.append(item)
            self.history_bytes += len(item.frame) + ITEM_OVERHEAD * len(seqs)
            self._last_seq = item.last
            # the status answers what the stream says: never "complete" before the last step's events
            self._published = self.runner.status()
            if self.spill is not None:
                self.spill.write_batch(seqs[0], seqs[-1], blob, self._published)
            while len(self.history) > 1 and self.history_bytes > self.window_bytes:
                gone = self.history.popleft()
                self.history_bytes -= len(gone.frame) + ITEM_OVERHEAD * (gone.last - gone.seq + 1)
        if self._loop is None or threading.get_ident() == self._loop_thread:
            self._notify()
        else:  # from the producer thread: the viewers are woken on the loop
            try:
                self._loop.call_soon_threadsafe(self._notify)
            except RuntimeError:  # the loop is closed: no viewer is left to wake
                pass

    def _notify(self) -> None:
        for viewer in [v for v in self._sending if self._last_seq - v.sent > self.buffer]:
            self._drop(viewer)  # it does not read: what it missed is on disk (Last-Event-ID)
        tick, self.tick = self.tick, asyncio.Event()
        tick.set()

    def _revive(self, viewer: Viewer) -> None:
        viewer.dropped = False
        self.dropped_viewers -= 1
        self.resynced_viewers += 1
        if not self.done.is_set():
            self.viewers.add(viewer)

    def _drop(self, viewer: Viewer) -> None:
        viewer.dropped = True
        self._sending.discard(viewer)
        self.viewers.discard(viewer)
        self.dropped_viewers += 1

    def subscribe(self, after: int) -> tuple[AsyncIterator[bytes], Viewer]:
        """The backlog after seq ``after`` (chunks of SSE frames, from memory or the spill) and a
        viewer placed after it (atomic: nothing can be published in between). The viewer is
        registered (counted in ``viewers``) while :meth:`follow` streams to it.
        Raises a 410 CommandError when events after ``after`` are no longer kept."""
        with self._history_lock:
            return self._subscribe(after)

    def _subscribe(self, after: int) -> tuple[AsyncIterator[bytes], Viewer]:
        upto = self.last_seq
        first_in_memory = self.history[0].seq if len(self.history) else upto + 1
        from_disk = after + 1 < first_in_memory and after < upto
        if from_disk:
            oldest = self.spill.oldest if self.spill is not None else None
            if oldest is None or after + 1 < oldest:
                kept = oldest if oldest is not None else first_in_memory
                why = f" ({self.spill.error})" if self.spill is not None and self.spill.error else ""
                raise CommandError(410, f"events before seq {kept} of session {self.id} are no longer kept{why}; "
                                        f"resume from Last-Event-ID {kept - 1} or later")
            self.spill.flush()
        memory = [item.after(after) for item in self.history if item.last > after] if not from_disk \
            else [item.frame for item in self.history]
        viewer = Viewer(self.history.end, max(after, upto))
        return self._backlog(after, first_in_memory - 1 if from_disk else None, memory), viewer

    async def _backlog(self, after: int, disk_upto: int | None, memory: list[bytes]) -> AsyncIterator[bytes]:
        if disk_upto is not None and self.spill is not None:
            reader = self.spill.read(after, disk_upto)
            while (chunk := await asyncio.to_thread(next, reader, None)) is not None:
                yield chunk
        part: list[bytes] = []
        for frames in memory:
            part.append(frames)
            if len(part) >= 200 or len(frames) >= MAX_WRITE_BYTES:
                yield b"".join(part)
                part = []
        if part:
            yield b"".join(part)

    def follow(self, after: int) -> AsyncIterator[bytes]:
        """A viewer's stream after seq ``after``: the backlog, then every event as it is published,
        until the session ends (or the viewer is dropped). Raises a 410 CommandError at once (before
        the first chunk) when events after ``after`` are no longer kept."""
        backlog, viewer = self.subscribe(after)
        return self._follow(backlog, viewer)

    async def _follow(self, backlog: AsyncIterator[bytes], viewer: Viewer) -> AsyncIterator[bytes]:
        if not self.done.is_set():
            self.viewers.add(viewer)
        try:
            while True:
                async for chunk in backlog:
                    yield chunk
                while not viewer.dropped:
                    tick = self.tick
                    if viewer.pos < self.history.base:
                        break  # it lagged out of the window: re-fed from the spill below
                    if viewer.pos < self.history.end:
                        chunk = self._frames_from(viewer)
                        if not chunk:
                            continue
                        self._sending.add(viewer)
                        yield chunk
                        self._sending.discard(viewer)
                        if viewer.dropped:  # its write completed after all: it reads, slowly, and goes on
                            self._revive(viewer)
                        continue
                    if self.done.is_set():
                        return
                    await tick.wait()
                if viewer.dropped:
                    return
                try:
                    backlog, caught_up = self.subscribe(viewer.sent)
                except CommandError:  # what it missed is gone: the browser reconnects and is told so (410)
                    self._drop(viewer)
                    return
                viewer.pos = caught_up.pos
                viewer.sent = caught_up.sent
                self.resynced_viewers += 1
        finally:
            self._sending.discard(viewer)
            self.viewers.discard(viewer)

    def _frames_from(self, viewer: Viewer) -> bytes:
        """The frames from the viewer's position on (to the end of the history, at most ~1 MB),
        joined once for every viewer at that position; moves the viewer past them."""
        start, end = viewer.pos, self.history.end
        joined = self._joined.get(start)
        if joined is None or joined[0] < end and len(joined[2]) < MAX_WRITE_BYTES:
            with self._history_lock:
                if start < self.history.base:  # trimmed meanwhile: the caller re-feeds it from disk
                    return b""
                items = self.history.slice(start, end)
            size = 0
            for k, item in enumerate(items):
                size += len(item.frame)
                if size >= MAX_WRITE_BYTES:
                    items = items[:k + 1]
                    break
            joined = (start + len(items), items[-1].last, items[0].frame if len(items) == 1 else b"".join(item.frame for item in items))
            if len(self._joined) >= JOINED_KEPT:
                del self._joined[next(iter(self._joined))]  # the oldest join
            self._joined[start] = joined
        viewer.pos, viewer.sent = joined[0], joined[1]
        return joined[2]

    def unsubscribe(self, viewer: Viewer) -> None:
        self.viewers.discard(viewer)
        self._sending.discard(viewer)

    @property
    def last_seq(self) -> int:
        return self._last_seq

    # ------------------------------------------------------------ driving
    async def drive(self) -> None:
        """Run the session to its end. Steps are taken by a producer thread of the session's own, on
        a fixed schedule (1 / speed), so that a loop busy with viewers never slows the session:
        it publishes each step's events into the shared history and wakes the viewers."""
        loop = asyncio.get_running_loop()
        self._loop, self._loop_thread = loop, threading.get_ident()
        ended: asyncio.Future[None] = loop.create_future()

        def end(error: Exception | None) -> None:
            if not ended.done():
                ended.set_exception(error) if error is not None else ended.set_result(None)

        def run() -> None:
            error: Exception | None = None
            try:
                self._produce()
            except Exception as err:  # noqa: BLE001 -- raised on the loop, as the drive's own error
                error = err
            try:
                loop.call_soon_threadsafe(end, error)
            except RuntimeError:  # the loop is gone (cancelled and closed): nobody is waiting
                pass

        stepped_out = False
        try:
            threading.Thread(target=run, name=f"session-{self.id}", daemon=True).start()
            await ended
            stepped_out = True
        finally:
            self._stopping = True  # cancelled (evicted): the thread ends after its current step
            self.wake.set()
            if not self.done.is_set():  # not evicted (an evicted session's runner may still be stepping)
                self.publish(self.runner.take_events())
            self.finish()
            if stepped_out:  # the producer thread is done with the runner: give its simulation back
                self.release()

    def release(self) -> None:
        """The session ended: drop its simulation (arrays, policy, exposure history) and keep what
        its viewers still read (the stream window, the init event, the last exposures and those just
        before defaults)."""
        self.runner.release()
        if isinstance(self.spill, DbSpill) and isinstance(self.runner, Runner):
            self.spill.store.put_exposures(self.id, self.runner.kept_exposures())
        self.footprint = min(self.footprint, 2 * max(self.history_bytes, 1)) + self.runner.kept_exposure_bytes()
        _trim_heap()

    def _produce(self) -> None:
        runner = self.runner
        due: float | None = None  # when the next step is due
        while not runner.finished and not self._stopping:
            if runner.state == "paused":
                self.wake.clear()
                if runner.state == "paused" and not self._stopping:
                    self.wake.wait()
                due = None
                continue
            now = time.perf_counter()
            # a late step (a busy machine) is made up for by the next waits, up to a second behind
            due = now if due is None or due < now - 1.0 else due
            self.lock.yield_to_commands(lambda: self._stopping)
            with self.lock.sync:
                if runner.state in ("ready", "running"):
                    runner.step()
                self.publish(runner.take_events())
            if self.speed > 0:
                due += 1.0 / self.speed
                self._pace(due)
            else:
                time.sleep(0)  # let the loop's viewers have the interpreter

    def _pace(self, deadline: float) -> None:
        """Wait until ``deadline`` (the next step's time), in slices, until a command changes the
        state: pause and stop never wait for a slow step to end."""
        while self.runner.state in ("ready", "running") and not self._stopping:
            left = deadline - time.perf_counter()
            if left <= 0:
                return
            self.wake.clear()
            self.wake.wait(min(left, MAX_WAIT))

    def finish(self) -> None:
        """The session ended (stopped, complete or cancelled): its viewers' streams end now."""
        if self.done.is_set():
            return
        self.done.set()
        self.finished_at = time.monotonic()
        if self.spill is not None:
            self.spill.flush()
        self.viewers.clear()  # their streams end once they have sent what is left
        self._sending.clear()
        self.tick.set()

    async def command(self, name: str, bank: str | None = None, amount: Any = None, operation: str | None = None) -> Event:
        async with self.lock:
            event = self.runner.command(name, bank, amount, operation)
            self.publish(self.runner.take_events())
        self.wake.set()
        return event

    def status(self) -> dict[str, Any]:
        st = self._published.as_dict()
        stored = self.spill.store.committed(self.id) if isinstance(self.spill, DbSpill) else None
        return {"session_id": self.id, **st, "viewers": len(self.viewers), "dropped_viewers": self.dropped_viewers,
                "last_seq": self.last_seq, "speed": self.speed, "n_banks": self.n_banks,
                "parent": self.parent, "fork_step": self.fork_step, "resynced_viewers": self.resynced_viewers,
                "created": self.created, "settings": self.settings, "stored_seq": stored}

    # ------------------------------------------------------ stored sessions
    @property
    def interrupted(self) -> bool:
        """Read back from the store after a restart and not re-created yet."""
        return isinstance(self.runner, StoredRunner) and not self.runner.finished

    @classmethod
    def stored(cls, record: StoredSession, store: Store, buffer: int, window_bytes: int) -> Session:
        """A session as the store keeps it: its stream is read from the database; it steps again only
        once re-created (:meth:`SessionStore.restore`)."""
        session = cls(record.id, StoredRunner(record, store), record.speed, buffer, window_bytes=window_bytes,
                      spill=DbSpill(store, record.id), created=record.created, parent=record.parent,
                      settings=record.settings, n_banks=record.n_banks, fork_step=record.fork_step)
        session._last_seq = record.last_seq
        store.note_committed(record.id, record.last_seq)
        if record.gap_to >= 0:
            store.gaps.setdefault(record.id, record.gap_to)
        if record.finished:
            session.finish()
        else:
            session.finished_at = time.monotonic()  # kept in memory for the TTL, as a finished one
        return session

    def revive(self, runner: Runner) -> None:
        """Go on with a re-created ``runner`` (its events so far are those stored): drive it again."""
        self.runner = runner
        self.finished_at = None
        self._stopping = False
        self.publish(runner.take_events())
        self.task = asyncio.get_running_loop().create_task(self.drive())


SPILL_PREFIX = "interbank-sessions-"


def remove_stale_spills(folder: Path) -> list[Path]:
    """Remove the spill folders that servers which are no longer running left in ``folder``
    (killed before they could clean up); their names carry the server's pid."""
    removed = []
    for path in folder.glob(f"{SPILL_PREFIX}*-*"):
        pid = path.name.removeprefix(SPILL_PREFIX).split("-", 1)[0]
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            os.kill(int(pid), 0)
            continue  # that server still runs
        except ProcessLookupError:
            pass
        except OSError:  # someone else's process: not ours to judge
            continue
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path)
    return removed


def _trim_heap() -> None:
    """Give freed memory back to the system (glibc keeps it otherwise); a no-op elsewhere."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def resident_bytes() -> int | None:
    """This process's resident memory (Linux), or None where it cannot be read."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * 4096
    except (OSError, ValueError, IndexError):
        return None


def _replayed(events: Iterable[Event], why: str):
    """``verify.replay`` of a stored or streamed session's events, every way it can fail a 409
    that starts with ``why``; the replay's result (its runner where the recording ends)."""
    from interbank.config import ConfigError
    from interbank.interactive.verify import replay
    from interbank.policies.checkpoint import CheckpointError

    try:
        result = replay(events)
    except (ConfigError, CheckpointError, KeyError, ValueError) as err:
        raise CommandError(409, f"{why}: {str(err).splitlines()[0] if str(err) else type(err).__name__}") from None
    except CommandError as err:
        raise CommandError(409, f"{why}: {err.message}") from None
    if result.difference is not None:
        raise CommandError(409, f"{why}: its replay differs from its stream ({result.difference})")
    return result


def _events_of(chunk: bytes) -> list[Event]:
    """The events in a chunk of SSE frames (their data lines)."""
    return [json.loads(line[6:]) for line in chunk.split(b"\r\n") if line.startswith(b"data: ")]


@dataclass(frozen=True)
class Reservation:
    """What :meth:`SessionStore.reserve` holds for a session being built: ``bytes`` of the memory
    budget and ``places`` (1, or 0 for a session re-created as itself) of ``max_sessions``."""

    bytes: int
    places: int


class SessionStore:
    """All sessions of a server. At most ``max_sessions`` at once (the oldest finished ones make
    room for new ones, else 429); finished ones are evicted ``finished_ttl`` seconds after they end;
    a new session whose estimated footprint does not fit ``memory_budget`` (bytes, beside the
    sessions kept, or beyond the process's resident memory) is refused with 503."""

    def __init__(self, max_sessions: int, memory_budget: int | None = None, finished_ttl: float = 600.0,
                 window_bytes: int = 8_000_000, spill_bytes: int = 256_000_000, spill_dir: Path | None = None,
                 db: Store | None = None, buffer: int = 2000) -> None:
        self.max_sessions = max_sessions
        self.db = db  # the sessions database (sessions outlive the server); None: a temporary spill per session
        self.buffer = buffer
        self.memory_budget = memory_budget
        self.finished_ttl = finished_ttl
        self.window_bytes = window_bytes
        self.spill_bytes = spill_bytes
        self._own_spill_dir = spill_dir is None
        self.spill_dir = spill_dir
        self.sessions: dict[str, Session] = {}
        self._reaper: asyncio.Task | None = None
        self.pending = 0  # bytes admitted for sessions being built (see reserve)
        self.building = 0  # sessions admitted and being built: they count towards max_sessions

    # ------------------------------------------------------------ budget
    def footprint(self, n_banks: int, max_steps: int | None = None) -> int:
        return session_footprint(n_banks, self.window_bytes, max_steps)

    def reserved(self, replacing: Session | None = None) -> int:
        """Bytes held by the sessions kept (but ``replacing``) and admitted ones being built."""
        return sum(s.footprint for s in self.sessions.values() if s is not replacing) + self.pending

    def check_room(self, n_banks: int, max_steps: int | None = None, replacing: Session | None = None,
                   sparing: Session | None = None) -> None:
        """Raise 429 / 503 unless a session of ``n_banks`` banks and ``max_steps`` steps may start
        now (evicting finished sessions to make room if needed); ``replacing``: a session that will
        be stopped once the new one is built (its share counts as free); ``sparing``: a finished
        session the new one is made from (a branch's parent, its events still to be read), never
        evicted for it. Call before building the runner."""
        self.evict_expired()
        need = self.footprint(n_banks, max_steps)
        finished = sorted((s for s in self.sessions.values()
                           if (s.done.is_set() or s.interrupted and not s.restoring) and s is not replacing
                           and s is not sparing),
                          key=lambda s: s.created)
        # the sessions kept and those admitted and still being built (``reserve``): starts awaited at
        # once must not all take the last place. What must go is decided first: a refused request
        # evicts nothing (a finished session's viewers keep their stream)
        excess = len(self.sessions) - (replacing is not None and replacing.id in self.sessions) + self.building \
            - self.max_sessions + 1
        if excess > len(finished):
            done = f"{len(finished)} finished" if finished else "none finished"
            starting = f", {self.building} being started" if self.building else ""
            raise CommandError(429, f"too many sessions: {self.max_sessions} sessions are open (ready, running or "
                                    f"paused; {done}{starting}); stop one first")
        going = max(0, excess)
        if self.memory_budget is not None:
            held = self.reserved(replacing) + need - sum(x.footprint for x in finished[:going])
            while going < len(finished) and held > self.memory_budget:
                held -= finished[going].footprint
                going += 1
            if held > self.memory_budget:
                mb = 1_000_000
                left = max(0, self.memory_budget - (held - need))
                raise CommandError(503, f"not enough memory for a session of {n_banks} banks (needs ~{need // mb} MB, "
                                        f"{left // mb} MB of the {self.memory_budget // mb} MB budget left); "
                                        "stop a session or start a smaller one")
        for session in finished[:going]:
            self.evict(session)

    def reserve(self, n_banks: int, max_steps: int | None = None, replacing: Session | None = None,
                sparing: Session | None = None, in_place: bool = False) -> Reservation:
        """Admit a session before it is built (:meth:`check_room`) and hold its place and its share
        until :meth:`unreserve` (called once the session is kept, or its build failed), so that two
        starts being built at once cannot both take the last room. ``in_place``: ``replacing`` is
        re-created as itself (a revived session): no new place is taken."""
        self.check_room(n_banks, max_steps, replacing, sparing)
        reservation = Reservation(self.footprint(n_banks, max_steps), places=0 if in_place else 1)
        self.pending += reservation.bytes
        self.building += reservation.places
        return reservation

    def unreserve(self, reservation: Reservation) -> None:
        self.pending = max(0, self.pending - reservation.bytes)
        self.building = max(0, self.building - reservation.places)
        _trim_heap()  # a refused or failed build gives back what it took

    def add(self, runner: Runner, speed: float, buffer: int, reservation: Reservation | None = None,
            settings: dict[str, Any] | None = None) -> Session:
        """Keep and drive a built session. Without ``reservation`` (from :meth:`reserve`) it is admitted here."""
        n_banks, max_steps = runner.env.system.n, runner.env.system.max_steps
        if reservation is None:
            self.check_room(n_banks, max_steps)
        sid, created = self._new_id(), time.time()
        session = Session(sid, runner, speed, buffer, window_bytes=self.window_bytes, created=created,
                          spill=self._spill(sid, created, n_banks, speed, settings),
                          footprint=self.footprint(n_banks, max_steps), settings=settings)
        self.sessions[session.id] = session
        loop = asyncio.get_running_loop()
        session.task = loop.create_task(session.drive())
        if self._reaper is None or self._reaper.done():
            self._reaper = loop.create_task(self._reap())
        return session

    def _new_id(self) -> str:
        while True:
            sid = uuid.uuid4().hex[:8]
            if sid not in self.sessions and (self.db is None or self.db.session(sid) is None):
                return sid

    def _spill(self, sid: str, created: float, n_banks: int, speed: float, settings: dict[str, Any] | None,
               parent: str | None = None, fork_step: int | None = None) -> Spill | DbSpill | None:
        if self.db is not None:
            self.db.create(sid, created, n_banks, speed, settings, parent, fork_step)
            return DbSpill(self.db, sid)
        if self.spill_bytes <= 0:
            return None
        if self.spill_dir is None:
            remove_stale_spills(Path(tempfile.gettempdir()))
            self.spill_dir = Path(tempfile.mkdtemp(prefix=f"{SPILL_PREFIX}{os.getpid()}-"))
        return Spill(self.spill_dir / sid, self.spill_bytes)

    # ---------------------------------------------------------- eviction
    def evict(self, session: Session) -> None:
        """Forget a session: its task is cancelled, its viewers' streams end, its spill is removed."""
        self.sessions.pop(session.id, None)
        if session.task is not None and not session.task.done():
            session.task.cancel()
        session.finish()
        if session.spill is not None:
            session.spill.remove()
            session.spill = None
        session.history.clear()
        session.history_bytes = 0
        session._joined.clear()
        _trim_heap()

    def evict_expired(self) -> None:
        now = time.monotonic()
        dropped = self.db.dropped if self.db is not None else set()
        for session in list(self.sessions.values()):
            if session.restoring:  # being re-created: it steps again in a moment
                continue
            if session.finished_at is not None and now - session.finished_at >= self.finished_ttl or session.id in dropped:
                self.evict(session)

    async def _reap(self) -> None:
        while self.sessions:
            await asyncio.sleep(max(0.05, min(self.finished_ttl / 4, 5.0)))
            self.evict_expired()

    async def branch(self, parent: Session, step: int | None = None) -> Session:
        """Fork a session: a new session, paused at the state of ``step`` (default: a paused
        parent's current step), whose stream is the parent's up to the fork (its init naming the
        parent and the fork step) and then its own. At the parent's current step the parent must be
        paused and is copied; at an earlier step (any session, finished ones too) the parent's stream
        up to that step is replayed (as ``replay --verify`` does) and the replay is forked, paused.
        Refused (410) when the parent's early events are no longer kept: a branch needs them to
        be replayable on its own."""
        current = parent.status()["step"]
        if step is None or (step == current and parent.runner.state == "paused"):
            return await self._branch_paused(parent)
        if step < 0 or step > current:
            raise CommandError(422, f"branch step must be between 0 and {current} (the session's step); got {step}")
        if step == current and parent.status()["state"] == "complete":  # (its replay would end, not fork)
            raise CommandError(409, f"session {parent.id} cannot be branched at step {step}: the session has no step "
                                    "after it (its episode ended there); branch from an earlier step")
        reservation = self.reserve(parent.n_banks, parent.status().get("max_steps"), sparing=parent)  # its events are read next
        try:
            events = await self.events_upto(parent, step)
            runner = await asyncio.to_thread(self._fork_replay, parent.id, events, step)
            extra = runner.take_events()  # the paused event that marks the fork, when the replay was running
            child = await asyncio.to_thread(runner.branch, parent.id)
            return self._start_branch(parent, child, events[1:] + extra)
        finally:
            self.unreserve(reservation)

    async def _branch_paused(self, parent: Session) -> Session:
        if parent.runner.state != "paused":  # a finished one has given its simulation back
            raise CommandError(409, f"branch needs a paused session; the session is {parent.runner.state}")
        system = parent.runner.env.system
        reservation = self.reserve(system.n, system.max_steps)
        try:
            async with parent.lock:
                runner = await asyncio.to_thread(parent.runner.branch, parent.id)
                parent.publish(parent.runner.take_events())
                fork = runner.init_event["data"]["config"]["branch"]
                backlog, viewer = parent.subscribe(0)  # everything after the parent's init
                parent.unsubscribe(viewer)
            events: list[Event] = []
            async for chunk in backlog:  # the parent's frames re-published as events, up to the fork
                events.extend(e for e in _events_of(chunk) if e["seq"] <= fork["seq"])
            return self._start_branch(parent, runner, events)
        finally:
            self.unreserve(reservation)

    def _start_branch(self, parent: Session, runner: Runner, events: list[Event]) -> Session:
        system, fork = runner.env.system, runner.init_event["data"]["config"]["branch"]
        sid, created = self._new_id(), time.time()
        session = Session(sid, runner, parent.speed, parent.buffer, window_bytes=self.window_bytes, created=created,
                          spill=self._spill(sid, created, system.n, parent.speed, parent.settings, parent.id, fork["step"]),
                          footprint=self.footprint(system.n, system.max_steps), parent=parent.id, fork_step=fork["step"],
                          settings=parent.settings)
        session.publish([runner.init_event])
        for start in range(0, len(events), 500):
            session.publish(events[start:start + 500])
        self.sessions[sid] = session
        loop = asyncio.get_running_loop()
        session.task = loop.create_task(session.drive())
        if self._reaper is None or self._reaper.done():
            self._reaper = loop.create_task(self._reap())
        return session

    async def events_upto(self, session: Session, step: int) -> list[Event]:
        """The session's events up to the state of ``step``: its init, then every event until the
        next step starts (the commands applied while paused at ``step`` included), never its end
        (``stopped`` / ``complete``). 410 when its first events are no longer kept."""
        backlog, viewer = session.subscribe(-1)
        session.unsubscribe(viewer)
        out: list[Event] = []
        async for chunk in backlog:
            for event in _events_of(chunk):
                if event["step"] > step or event["type"] in ("stopped", "complete"):
                    return out
                out.append(event)
        return out

    async def step_end(self, session: Session, step: int) -> Event | None:
        """The ``step_end`` event of ``step`` (``init`` for step 0) read back from the session's
        stream, or None when the session has not reached it. 410 when it is no longer kept."""
        backlog, viewer = session.subscribe(-1)
        session.unsubscribe(viewer)
        wanted = "init" if step == 0 else "step_end"
        async for chunk in backlog:
            for frame in chunk.split(b"\r\n\r\n"):
                if f"event: {wanted}".encode() not in frame:
                    continue
                for event in _events_of(frame):
                    if event["type"] == wanted and event["step"] == step:
                        return event
                    if event["step"] > step:
                        return None
        return None

    def _fork_replay(self, sid: str, events: list[Event], step: int) -> Runner:
        why = f"session {sid} cannot be branched at step {step}"
        runner = _replayed(events, why).runner
        if runner.finished:
            raise CommandError(409, f"{why}: the session has no step after it")
        if runner.state in ("ready", "running"):
            runner.command("pause")
        return runner

    def get(self, session_id: str | None) -> Session:
        """A session by id (default the newest), from memory or else read back from the store."""
        self.evict_expired()
        if session_id is None:
            newest = max(self.sessions.values(), key=lambda s: s.created, default=None)
            stored = self.db.sessions()[-1:] if self.db is not None else []
            if stored and (newest is None or stored[0].created > newest.created):
                session_id = stored[0].id
            elif newest is not None:
                return newest
            else:
                raise CommandError(404, "no session yet: POST /api/interactive/start first")
        session = self.sessions.get(session_id)
        if session is None and self.db is not None and session_id not in self.db.dropped:
            record = self.db.session(session_id)
            if record is not None:
                session = Session.stored(record, self.db, self.buffer, self.window_bytes)
                self.sessions[session_id] = session
                self._reap_soon()
        if session is None:
            raise CommandError(404, f"unknown session {session_id!r}")
        return session

    def statuses(self, stored: list[StoredSession] | None = None) -> list[dict[str, Any]]:
        """Every session's status: those in memory, and those of ``stored`` (the store's sessions,
        read beforehand in a thread) that only the store keeps."""
        out = [s.status() for s in self.sessions.values()]
        for record in stored or []:
            if record.id not in self.sessions and self.db is not None and record.id not in self.db.dropped:
                out.append(Session.stored(record, self.db, self.buffer, self.window_bytes).status())
        return out

    def _reap_soon(self) -> None:
        if self._reaper is None or self._reaper.done():
            self._reaper = asyncio.get_running_loop().create_task(self._reap())

    async def restore(self, session: Session) -> Event | None:
        """Re-create an interrupted session by replaying its stored stream (as ``replay --verify``
        does), paused at its last step (the ``paused`` event it gets marks the interruption, unless it
        was paused already), and drive it again. Returns that ``paused`` event. 409 when the stream
        cannot be replayed (cut by retention, or it does not re-create itself)."""
        if not session.interrupted:
            return None
        if session.restoring:
            raise CommandError(409, f"session {session.id} is being re-created; try again in a moment")
        record = self.db.session(session.id) if self.db is not None else None
        if record is None:
            raise CommandError(404, f"unknown session {session.id!r}")
        why = f"session {session.id} cannot be re-created"
        if record.last_seq < 0:
            raise CommandError(409, f"{why}: nothing of its stream was stored")
        if record.gap_to >= 0 or session.id in self.db.gaps:
            raise CommandError(409, f"{why}: its events up to seq {max(record.gap_to, self.db.gaps.get(session.id, -1))} "
                                    "were dropped to keep the store within --keep-mb")
        max_steps = record.status.get("max_steps")
        reservation = self.reserve(record.n_banks, max_steps, replacing=session, in_place=True)
        session.restoring = True
        try:
            runner = await asyncio.to_thread(self._replay, session.id, record.last_seq, why)
            event = runner.command("pause") if runner.state in ("ready", "running") else None
            self.db.revive(session.id)
            session.footprint = self.footprint(record.n_banks, max_steps)
            session.revive(runner)
        finally:
            session.restoring = False
            self.unreserve(reservation)
        return event

    def _replay(self, sid: str, last_seq: int, why: str) -> Runner:
        def events() -> Iterator[Event]:
            for chunk in self.db.lines(sid, -1, last_seq):
                for line in chunk.splitlines():
                    yield json.loads(line)

        result = _replayed(events(), why)
        if result.compared != last_seq + 1:
            raise CommandError(409, f"{why}: {result.compared} of its {last_seq + 1} events are stored")
        return result.runner

    async def close(self) -> None:
        if self._reaper is not None:
            self._reaper.cancel()
        for session in list(self.sessions.values()):
            self.evict(session)
        if self.db is not None:
            await asyncio.to_thread(self.db.close)  # what is queued is committed first
        if self._own_spill_dir and self.spill_dir is not None:
            shutil.rmtree(self.spill_dir, ignore_errors=True)


"""Server sessions: one runner each, driven by an asyncio task, watched by any number of viewers.

Every event is kept in the session's history (so a viewer can resume with
``Last-Event-ID``) and offered to each viewer's bounded queue; a viewer whose
queue is full is dropped, never the simulation. Commands take the session's
step lock, so they land between two steps.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from interbank.interactive.runner import CommandError, Runner
from interbank.sim.events import Event, dumps


@dataclass
class Item:
    """One event of the history: its ``seq`` and its SSE frame, encoded once for every viewer."""

    seq: int
    frame: bytes

    @classmethod
    def of(cls, event: Event) -> "Item":
        return cls(event["seq"], f"id: {event['seq']}\r\nevent: {event['type']}\r\ndata: {dumps(event)}\r\n\r\n".encode())


class Viewer:
    """One SSE client: a bounded queue of items; ``None`` means the stream is over."""

    def __init__(self, buffer: int) -> None:
        self.queue: asyncio.Queue[Item | None] = asyncio.Queue(maxsize=buffer)
        self.dropped = False

    def offer(self, item: Item | None) -> bool:
        try:
            self.queue.put_nowait(item)
            return True
        except asyncio.QueueFull:
            self.dropped = True
            return False


@dataclass
class Session:
    """A running simulation: ``runner``, its event ``history`` and its ``viewers``."""

    id: str
    runner: Runner
    speed: float  # steps per second; 0 = as fast as possible
    buffer: int
    created: float = field(default_factory=time.time)
    history: list[Item] = field(default_factory=list)
    viewers: set[Viewer] = field(default_factory=set)
    dropped_viewers: int = 0
    task: asyncio.Task | None = None
    parent: str | None = None  # the session this one was branched from
    fork_step: int | None = None
    resynced_viewers: int = 0  # viewers that fell behind their buffer and were re-fed from the history

    def __post_init__(self) -> None:
        self.lock = asyncio.Lock()
        self.wake = asyncio.Event()
        self.done = asyncio.Event()
        self.publish(self.runner.take_events())

    # ------------------------------------------------------------- events
    def publish(self, events: list[Event]) -> None:
        for event in events:
            item = Item.of(event)
            self.history.append(item)
            for viewer in list(self.viewers):
                if not viewer.offer(item):
                    self.viewers.discard(viewer)
                    self.dropped_viewers += 1

    def subscribe(self, after: int) -> tuple[list[Item], Viewer]:
        """The backlog after seq ``after`` and a viewer registered for what follows
        (atomic: nothing can be published in between)."""
        viewer = Viewer(self.buffer)
        backlog = [item for item in self.history if item.seq > after]
        if self.done.is_set():
            viewer.offer(None)
        else:
            self.viewers.add(viewer)
        return backlog, viewer

    def unsubscribe(self, viewer: Viewer) -> None:
        self.viewers.discard(viewer)

    @property
    def last_seq(self) -> int:
        return self.history[-1].seq if self.history else -1

    # ------------------------------------------------------------ driving
    async def drive(self) -> None:
        runner = self.runner
        try:
            while not runner.finished:
                if runner.state == "paused":
                    self.wake.clear()
                    await self.wake.wait()
                    continue
                started = time.perf_counter()
                async with self.lock:
                    if runner.state in ("ready", "running"):
                        await asyncio.to_thread(runner.step)
                    self.publish(runner.take_events())
                if self.speed > 0:
                    await asyncio.sleep(max(0.0, 1.0 / self.speed - (time.perf_counter() - started)))
                else:
                    await asyncio.sleep(0)
        finally:
            self.publish(runner.take_events())
            self.done.set()
            for viewer in list(self.viewers):
                viewer.offer(None)
            self.viewers.clear()

    async def command(self, name: str, bank: str | None = None, amount: Any = None, operation: str | None = None) -> Event:
        async with self.lock:
            event = self.runner.command(name, bank, amount, operation)
            self.publish(self.runner.take_events())
        self.wake.set()
        return event

    def status(self) -> dict[str, Any]:
        st = self.runner.status().as_dict()
        return {"session_id": self.id, **st, "viewers": len(self.viewers), "dropped_viewers": self.dropped_viewers,
                "last_seq": self.last_seq, "speed": self.speed, "n_banks": self.runner.env.system.n,
                "parent": self.parent, "fork_step": self.fork_step, "resynced_viewers": self.resynced_viewers,
                "created": self.created}


class SessionStore:
    """All sessions of a server, capped; the oldest finished ones make room for new ones."""

    def __init__(self, max_sessions: int) -> None:
        self.max_sessions = max_sessions
        self.sessions: dict[str, Session] = {}

    def add(self, runner: Runner, speed: float, buffer: int) -> Session:
        self._make_room()
        session = Session(uuid.uuid4().hex[:8], runner, speed, buffer)
        self.sessions[session.id] = session
        session.task = asyncio.get_running_loop().create_task(session.drive())
        return session

    async def branch(self, parent: Session) -> Session:
        """Fork a paused session: a new session paused at the same state whose history is the
        parent's up to the fork (its init naming the parent and the fork step)."""
        self._make_room()
        async with parent.lock:
            runner = await asyncio.to_thread(parent.runner.branch, parent.id)
            parent.publish(parent.runner.take_events())
            fork = runner.init_event["data"]["config"]["branch"]
            prefix = [Item.of(runner.init_event)] + [item for item in parent.history if 0 < item.seq <= fork["seq"]]
        session = Session(uuid.uuid4().hex[:8], runner, parent.speed, parent.buffer, history=prefix,
                          parent=parent.id, fork_step=fork["step"])
        self.sessions[session.id] = session
        session.task = asyncio.get_running_loop().create_task(session.drive())
        return session

    def _make_room(self) -> None:
        if len(self.sessions) >= self.max_sessions:
            finished = sorted((s for s in self.sessions.values() if s.done.is_set()), key=lambda s: s.created)
            if not finished:
                raise CommandError(429, f"too many sessions: {self.max_sessions} are running; stop one first")
            del self.sessions[finished[0].id]

    def get(self, session_id: str | None) -> Session:
        if session_id is None:
            if not self.sessions:
                raise CommandError(404, "no session yet: POST /api/interactive/start first")
            return max(self.sessions.values(), key=lambda s: s.created)
        session = self.sessions.get(session_id)
        if session is None:
            raise CommandError(404, f"unknown session {session_id!r}")
        return session

    async def close(self) -> None:
        for session in self.sessions.values():
            if session.task and not session.task.done():
                session.task.cancel()

"""Sessions that outlive the server: an embedded SQLite database (WAL) in the server's data folder.

``DATA_DIR/sessions.db`` holds every session of ``interbank serve``: its settings, its parent and
fork step (a branch), its last status, and its whole event stream (interventions included: they
are events of the stream) as compressed chunks, one chunk per publish (a step's events, or a
command's). The sessions' streams are written here once and read back from here: there is no
other copy on disk.

Writes never wait on the disk in the stepping thread: :meth:`Store.append` queues a chunk, and one
writer thread compresses what is queued and commits it in one transaction (one per step when it
keeps up, several steps per transaction when it lags). The queue is bounded (``queue_bytes``): a
writer that cannot keep up slows the session down instead of growing memory. ``committed(sid)``
is the last seq on disk: after a crash (SIGKILL, power) the stream is there up to the last
committed chunk, whole chunks only.

A finished session's exposure snapshots (the interbank network as of its last step and the steps
just before defaults: what a finished runner keeps, :meth:`Store.put_exposures`) are stored beside
its stream, so that its network can still be drawn after a restart (:meth:`Store.exposures`).

Retention: at most ``keep_sessions`` sessions and ``keep_bytes`` of stored (compressed) streams.
Beyond either, whole sessions go, the oldest finished first, then the oldest interrupted; a
session running in this server is never dropped. Should the running ones alone exceed
``keep_bytes``, their oldest chunks go (never the first, which holds the init): such a session can
no longer be re-created, and its stream answers 410 before the gap.

Bad input is one line (:class:`StoreError`): a data folder that cannot be created or written, a
file that is not an interbank session database, a folder another server uses.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import sqlite3
import threading
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from interbank.interactive.runner import FINISHED_STATES as FINISHED  # a session in these never steps again

_SEQ = re.compile(rb'^\{"seq":(\d+),')  # every line is an event's canonical JSON
DB_NAME = "sessions.db"
LOCK_NAME = "serve.lock"
APPLICATION_ID = 0x49424B31  # "IBK1": marks the file as ours
SCHEMA_VERSION = 2  # 2: the exposures table (a version 1 database gains it when opened)
WRITER_NICE = 10  # the writer thread's niceness above the server's

SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY,
    created REAL NOT NULL,          -- wall clock (seconds since the epoch)
    parent TEXT,                    -- the session it was branched from
    fork_step INTEGER,
    settings TEXT,                  -- JSON: what it was started with
    n_banks INTEGER NOT NULL,
    speed REAL NOT NULL,
    state TEXT NOT NULL,            -- the runner's state at the last committed chunk
    status TEXT NOT NULL,           -- JSON: the runner's status at the last committed chunk
    last_seq INTEGER NOT NULL,      -- the last seq committed
    bytes INTEGER NOT NULL,         -- compressed bytes of its chunks
    raw_bytes INTEGER NOT NULL,     -- the same stream as JSONL
    gap_to INTEGER NOT NULL,        -- -1, or the last seq dropped by retention (seq 0, the init, is kept)
    finished_at REAL
);
CREATE TABLE IF NOT EXISTS chunks (
    session TEXT NOT NULL,
    first_seq INTEGER NOT NULL,
    last_seq INTEGER NOT NULL,
    raw_bytes INTEGER NOT NULL,
    zlib INTEGER NOT NULL,          -- 1: data is zlib-compressed; 0: data is the lines as they are
    data BLOB NOT NULL,             -- the events' canonical JSON lines, each ending in a newline
    PRIMARY KEY (session, first_seq)
);
CREATE TABLE IF NOT EXISTS exposures (
    session TEXT NOT NULL,
    step INTEGER NOT NULL,
    data BLOB NOT NULL,             -- zlib-compressed JSON: the runner's snapshot of that step
    PRIMARY KEY (session, step)
);
"""


def _queued_bytes(op: tuple) -> int:
    """What a queued write holds in memory until committed (a create: nothing to speak of)."""
    if op[0] == "chunk":
        return len(op[4])
    if op[0] == "exposures":  # (about what their JSON takes: ~40 bytes a pair)
        return sum(40 * len(x["amount"]) + 100 for x in op[2])
    return 0


class StoreError(Exception):
    """A one-line reason the store cannot be used."""


@dataclass
class StoredSession:
    """A sessions row."""

    id: str
    created: float
    parent: str | None
    fork_step: int | None
    settings: dict[str, Any] | None
    n_banks: int
    speed: float
    state: str
    status: dict[str, Any]
    last_seq: int
    bytes: int
    raw_bytes: int
    gap_to: int
    finished_at: float | None

    @property
    def finished(self) -> bool:
        return self.state in FINISHED

    @classmethod
    def of(cls, row: tuple) -> StoredSession:
        (sid, created, parent, fork_step, settings, n_banks, speed, state, status, last_seq, size, raw, gap_to,
         finished_at) = row
        return cls(sid, created, parent, fork_step, json.loads(settings) if settings else None, n_banks, speed, state,
                   json.loads(status), last_seq, size, raw, gap_to, finished_at)


COLUMNS = ("id, created, parent, fork_step, settings, n_banks, speed, state, status, last_seq, bytes, raw_bytes, "
           "gap_to, finished_at")


def default_data_dir() -> Path:
    """``$XDG_DATA_HOME/interbank`` (``~/.local/share/interbank`` by default)."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "interbank"


class Store:
    """The sessions database of one server (see the module docstring). Thread-safe: writes are
    queued from any thread and committed by one writer thread; each read opens its own connection."""

    def __init__(self, folder: Path, keep_sessions: int = 200, keep_bytes: int = 2_000_000_000,
                 queue_bytes: int = 64_000_000, level: int = 1) -> None:
        self.folder = Path(folder)
        self.path = self.folder / DB_NAME
        self.keep_sessions = keep_sessions
        self.keep_bytes = keep_bytes
        self.queue_bytes = queue_bytes
        self.level = level  # zlib level of new chunks (0: stored as they are)
        self.error: str | None = None  # set when a write failed: nothing more is written
        self._lock_file = self._open_folder()
        try:
            conn = self._connect()
            self._schema(conn)
            self._count, self._bytes = conn.execute("SELECT count(*), coalesce(sum(bytes), 0) FROM sessions").fetchone()
        except sqlite3.DatabaseError as err:
            self._lock_file.close()
            raise StoreError(f"{self.path}: not a usable interbank session database ({err}); move it away or "
                             "choose another --data-dir") from None
        self._conn = conn  # the writer's
        self._cond = threading.Condition()
        self._ops: list[tuple] = []
        self._queued = 0  # bytes queued, not yet committed
        self._committed: dict[str, int] = {}
        self._closing = False
        self.live: set[str] = set()  # sessions stepping in this server: never dropped by retention
        self.dropped: set[str] = set()  # sessions retention removed (the server forgets them too)
        self.gaps: dict[str, int] = {}  # live sessions whose oldest chunks retention removed: the last seq gone
        self.transactions = 0
        self.cpu_seconds = 0.0  # the writer's CPU time (compressing and committing)
        self._writer = threading.Thread(target=self._write_loop, name="session-store", daemon=True)
        self._writer.start()

    # ------------------------------------------------------------ opening
    def _open_folder(self):
        where = f"--data-dir {self.folder}"
        if self.folder.exists() and not self.folder.is_dir():
            raise StoreError(f"{where}: not a folder")
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise StoreError(f"{where}: cannot create it ({err.strerror or err})") from None
        try:
            lock = (self.folder / LOCK_NAME).open("a+")
        except OSError as err:
            raise StoreError(f"{where}: cannot write there ({err.strerror or err})") from None
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            lock.seek(0)
            pid = lock.read().strip() or "?"
            lock.close()
            raise StoreError(f"{where}: another interbank serve (pid {pid}) uses it; stop it or choose another "
                             "--data-dir") from None
        try:
            lock.seek(0)
            lock.truncate()
            lock.write(str(os.getpid()))
            lock.flush()
        except OSError as err:
            lock.close()
            raise StoreError(f"{where}: cannot write there ({err.strerror or err})") from None
        return lock

    def _connect(self) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=30)
        except sqlite3.Error as err:
            raise StoreError(f"--data-dir {self.folder}: cannot open {DB_NAME} ({err})") from None
        conn.execute("PRAGMA busy_timeout = 30000")
        return conn

    def _schema(self, conn: sqlite3.Connection) -> None:
        app, version = conn.execute("PRAGMA application_id").fetchone()[0], conn.execute("PRAGMA user_version").fetchone()[0]
        tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
        if tables and app != APPLICATION_ID:
            raise sqlite3.DatabaseError("a SQLite file of something else")
        if tables and version > SCHEMA_VERSION:
            raise sqlite3.DatabaseError(f"written by a newer interbank (schema {version})")
        if not tables:
            conn.execute("PRAGMA auto_vacuum = INCREMENTAL")  # only takes effect before the first table
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if mode.lower() != "wal":
            raise sqlite3.DatabaseError(f"cannot use WAL mode ({mode})")
        conn.execute("PRAGMA synchronous = NORMAL")  # WAL + NORMAL: a committed chunk survives a killed process
        conn.executescript(SCHEMA)
        conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    # ------------------------------------------------------------- writes
    def _put(self, op: tuple, size: int = 0, wait: bool = True) -> None:
        with self._cond:
            while wait and self._queued > self.queue_bytes and not self._closing and self.error is None:
                self._cond.wait(0.5)  # the writer lags: the session waits for it (memory stays bounded)
            if self._closing or self.error is not None:
                return
            self._ops.append(op)
            self._queued += size
            self._cond.notify_all()

    def create(self, sid: str, created: float, n_banks: int, speed: float, settings: dict[str, Any] | None,
               parent: str | None = None, fork_step: int | None = None) -> None:
        """Record a new session (it becomes live: retention leaves it alone while it runs)."""
        with self._cond:
            self.live.add(sid)
            self._committed.setdefault(sid, -1)
        self._put(("create", sid, created, parent, fork_step, json.dumps(settings) if settings is not None else None,
                   n_banks, speed))

    def append(self, sid: str, first_seq: int, last_seq: int, lines: bytes, status: dict[str, Any]) -> None:
        """Queue a chunk of a session's stream (its events' lines, seq ``first_seq`` to ``last_seq``)
        and its status after them."""
        self._put(("chunk", sid, first_seq, last_seq, lines, status), len(lines))

    def put_exposures(self, sid: str, snapshots: list[dict[str, Any]]) -> None:
        """Queue a finished session's exposure snapshots (they replace any stored before): its
        network as of the steps they were taken, read back by :meth:`exposures` after a restart.
        Counted in its stored bytes (retention drops them with it)."""
        snapshots = list(snapshots)  # (written to JSON by the writer thread: the caller may be an event loop)
        # (never waiting for a lagging writer: the caller is the server's event loop; one per finished session)
        self._put(("exposures", sid, snapshots), _queued_bytes(("exposures", sid, snapshots)), wait=False)

    def revive(self, sid: str) -> None:
        """A stored session steps again in this server (re-created after a restart)."""
        with self._cond:
            self.live.add(sid)

    def forget_live(self, sid: str) -> None:
        with self._cond:
            self.live.discard(sid)

    def _write_loop(self) -> None:
        # the writer yields the processor to the sessions' stepping threads (and to other work) on
        # a busy machine: it catches up when they wait, and the bounded queue holds meanwhile
        with contextlib.suppress(OSError, AttributeError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), min(19, os.getpriority(os.PRIO_PROCESS, 0) + WRITER_NICE))
        while True:
            with self._cond:
                while not self._ops and not self._closing:
                    self._cond.wait()
                if not self._ops and self._closing:
                    return
                ops, self._ops = self._ops, []
            cpu = time.thread_time()
            size = sum(_queued_bytes(op) for op in ops)
            # compressed here, outside the lock and off the stepping thread (zlib lets other threads run)
            ready = [(op, self._compressed(op)) for op in ops]
            done: dict[str, int] = {}
            try:
                self._commit(ready, done)
            except (sqlite3.Error, OSError) as err:
                with self._cond:
                    self.error = f"the session store could not be written ({err}); sessions go on unstored"
            with self._cond:
                self._queued -= size
                for sid, seq in done.items():
                    self._committed[sid] = seq
                self._cond.notify_all()
            self.cpu_seconds += time.thread_time() - cpu
            if self.error is None and (self._count > self.keep_sessions or self._bytes > self.keep_bytes):
                try:
                    self._retain()
                except (sqlite3.Error, OSError) as err:
                    with self._cond:
                        self.error = f"the session store could not be trimmed ({err})"

    def _compressed(self, op: tuple) -> Any:
        """A chunk's data as stored (compressed at ``level``, or as it is at 0); exposure snapshots
        always compressed (they are read back whole, one at a time); nothing for a create."""
        if op[0] == "chunk":
            return zlib.compress(op[4], self.level) if self.level else op[4]
        if op[0] == "exposures":
            return [(int(x["step"]), zlib.compress(json.dumps(x, separators=(",", ":")).encode(), max(self.level, 1)))
                    for x in op[2]]
        return None

    def _commit(self, ready: list[tuple[tuple, Any]], done: dict[str, int]) -> None:
        conn = self._conn
        now = time.time()
        conn.execute("BEGIN")
        try:
            for op, data in ready:
                if op[0] == "create":
                    _, sid, created, parent, fork_step, settings, n_banks, speed = op
                    conn.execute(f"INSERT OR REPLACE INTO sessions ({COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                                 (sid, created, parent, fork_step, settings, n_banks, speed, "ready", "{}", -1, 0, 0, -1,
                                  None))
                    self._count += 1
                elif op[0] == "exposures":
                    self._commit_exposures(conn, op[1], data)
                else:
                    _, sid, first, last, lines, status = op
                    conn.execute("INSERT OR REPLACE INTO chunks VALUES (?,?,?,?,?,?)",
                                 (sid, first, last, len(lines), int(self.level > 0), data))
                    state = status.get("state", "running")
                    conn.execute(
                        "UPDATE sessions SET last_seq = ?, state = ?, status = ?, bytes = bytes + ?, raw_bytes = raw_bytes + ?, "
                        "finished_at = CASE WHEN ? AND finished_at IS NULL THEN ? ELSE finished_at END WHERE id = ?",
                        (last, state, json.dumps(status), len(data), len(lines), state in FINISHED, now, sid))
                    self._bytes += len(data)
                    done[sid] = last
                    if state in FINISHED:
                        with self._cond:
                            self.live.discard(sid)
            conn.execute("COMMIT")
            self.transactions += 1
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            raise

    def _commit_exposures(self, conn: sqlite3.Connection, sid: str, blobs: list[tuple[int, bytes]]) -> None:
        """Replace a session's stored snapshots (inside the writer's transaction); none for a
        session retention has dropped meanwhile."""
        if conn.execute("SELECT 1 FROM sessions WHERE id = ?", (sid,)).fetchone() is None:
            return
        old = conn.execute("SELECT coalesce(sum(length(data)), 0) FROM exposures WHERE session = ?", (sid,)).fetchone()[0]
        conn.execute("DELETE FROM exposures WHERE session = ?", (sid,))
        conn.executemany("INSERT INTO exposures VALUES (?,?,?)", [(sid, step, blob) for step, blob in blobs])
        size = sum(len(blob) for _, blob in blobs) - old
        conn.execute("UPDATE sessions SET bytes = bytes + ? WHERE id = ?", (size, sid))
        self._bytes += size

    def _retain(self) -> None:
        """Drop sessions (oldest finished first, then oldest interrupted) until within the limits,
        then, if the running ones alone exceed ``keep_bytes``, their oldest chunks."""
        conn = self._conn
        with self._cond:
            live = set(self.live)
        rows = conn.execute("SELECT id, bytes, state IN ('stopped', 'complete') FROM sessions "
                            "ORDER BY state IN ('stopped', 'complete') DESC, created").fetchall()
        gone = []
        for sid, size, _ in rows:
            if self._count <= self.keep_sessions and self._bytes <= self.keep_bytes:
                break
            if sid in live:
                continue
            conn.execute("BEGIN")
            conn.execute("DELETE FROM chunks WHERE session = ?", (sid,))
            conn.execute("DELETE FROM exposures WHERE session = ?", (sid,))
            conn.execute("DELETE FROM sessions WHERE id = ?", (sid,))
            conn.execute("COMMIT")
            self._count -= 1
            self._bytes -= size
            gone.append(sid)
        while self._bytes > self.keep_bytes and live:
            row = conn.execute(
                "SELECT c.session, c.first_seq, c.last_seq, length(c.data) FROM chunks c JOIN sessions s ON s.id = c.session "
                "WHERE c.first_seq > 0 AND c.session IN (%s) ORDER BY s.bytes DESC, c.first_seq LIMIT 1"
                % ",".join("?" * len(live)), tuple(live)).fetchone()
            if row is None:
                break
            sid, first, last, size = row
            conn.execute("BEGIN")
            conn.execute("DELETE FROM chunks WHERE session = ? AND first_seq = ?", (sid, first))
            conn.execute("UPDATE sessions SET bytes = bytes - ?, gap_to = max(gap_to, ?) WHERE id = ?", (size, last, sid))
            conn.execute("COMMIT")
            self._bytes -= size
            with self._cond:
                self.gaps[sid] = max(self.gaps.get(sid, -1), last)
        conn.execute("PRAGMA incremental_vacuum")
        if gone:
            with self._cond:
                self.dropped.update(gone)
                for sid in gone:
                    self._committed.pop(sid, None)

    def wait(self, sid: str, seq: int, timeout: float = 60.0) -> bool:
        """Block until the session's stream is committed up to ``seq`` (False: it was not in time,
        or the store failed)."""
        end = time.monotonic() + timeout
        with self._cond:
            while self._committed.get(sid, -1) < seq and self.error is None:
                left = end - time.monotonic()
                if left <= 0 or (sid not in self._committed):
                    return False
                self._cond.wait(min(left, 0.5))
            return self._committed.get(sid, -1) >= seq

    def committed(self, sid: str) -> int:
        with self._cond:
            return self._committed.get(sid, -1)

    def close(self) -> None:
        """Commit what is queued and stop the writer."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        self._writer.join(timeout=60)
        with contextlib.suppress(sqlite3.Error):
            self._conn.close()
        with contextlib.suppress(OSError):
            self._lock_file.close()

    # -------------------------------------------------------------- reads
    def _reader(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=30)
        conn.execute("PRAGMA busy_timeout = 30000")
        return conn

    def sessions(self) -> list[StoredSession]:
        conn = self._reader()
        try:
            return [StoredSession.of(row) for row in conn.execute(f"SELECT {COLUMNS} FROM sessions ORDER BY created")]
        finally:
            conn.close()

    def session(self, sid: str) -> StoredSession | None:
        conn = self._reader()
        try:
            row = conn.execute(f"SELECT {COLUMNS} FROM sessions WHERE id = ?", (sid,)).fetchone()
        finally:
            conn.close()
        if row is None:
            return None
        record = StoredSession.of(row)
        self.note_committed(sid, record.last_seq)
        return record

    def note_committed(self, sid: str, seq: int) -> None:
        """A stored session read back: its stream is on disk up to ``seq``."""
        with self._cond:
            self._committed.setdefault(sid, seq)

    def summary(self) -> dict[str, Any]:
        """What the store holds (for the sessions list)."""
        with self._cond:
            return {"data_dir": str(self.folder), "sessions": self._count, "stored_mb": round(self._bytes / 1e6, 1),
                    "keep_sessions": self.keep_sessions, "keep_mb": round(self.keep_bytes / 1e6, 1), "error": self.error}

    def lines(self, sid: str, after: int = -1, upto: int | None = None) -> Iterator[bytes]:
        """The session's stored events with ``after < seq <= upto`` as JSONL, a chunk at a time
        (whole lines). Reads the database: iterate it in a thread."""
        conn = self._reader()
        try:
            rows = conn.execute("SELECT first_seq, last_seq, zlib, data FROM chunks WHERE session = ? AND last_seq > ? "
                                "AND first_seq <= ? ORDER BY first_seq",
                                (sid, after, upto if upto is not None else 2**62))
            for first, last, compressed, data in rows:
                raw = zlib.decompress(data) if compressed else bytes(data)
                if first > after and (upto is None or last <= upto):
                    yield raw
                    continue
                kept = []
                for line in raw.splitlines(keepends=True):
                    seq = int(_SEQ.match(line)[1])
                    if seq > after and (upto is None or seq <= upto):
                        kept.append(line)
                yield b"".join(kept)
        finally:
            conn.close()

    def exposures(self, sid: str, step: int | None = None) -> dict[str, Any] | None:
        """The stored exposure snapshot of a finished session as of ``step`` (the latest at or
        before it; default its last), as the runner took it; ``None`` when none is stored there."""
        conn = self._reader()
        try:
            row = conn.execute("SELECT data FROM exposures WHERE session = ? AND step <= ? ORDER BY step DESC LIMIT 1",
                               (sid, 2**62 if step is None else step)).fetchone()
        finally:
            conn.close()
        return None if row is None else json.loads(zlib.decompress(row[0]))

    def init_line(self, sid: str) -> bytes | None:
        """The session's init event (seq 0) as its JSON line, without the newline."""
        for chunk in self.lines(sid, -1, 0):
            return chunk.rstrip(b"\n")
        return None

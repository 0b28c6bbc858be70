"""Event files: JSON lines written so that a failure never leaves a half line behind.

:class:`JsonlWriter` appends whole lines; when a write fails (a full disk, a
removed folder) it cuts the file back to its last complete line and raises
:class:`JsonlError` with a one-line message, so a reader of the file sees only
whole events, and the command line can report the failure in one line.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Self

from interbank.files import LineWriter, WriteError
from interbank.sim.events import Event, dumps


class JsonlError(OSError):
    """Writing an event file failed; the message is one line naming the file and why."""


class JsonlWriter:
    """Write events to ``path`` as canonical JSON lines (``interbank.sim.events.dumps``), one
    step's events at a time, on top of the one line writer (``interbank.files.LineWriter``)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.written = 0  # events
        try:
            self._lines: LineWriter | None = LineWriter(self.path)
        except WriteError as err:
            raise JsonlError(str(err)) from None

    def write(self, events: Iterable[Event]) -> None:
        """Write ``events`` (a step's) as whole lines; raises JsonlError (file cut back to its last
        whole line) on failure. A ValueError from an event that is not JSON (a non-finite number) is
        raised as is, before anything is written."""
        if self._lines is None:
            raise JsonlError(f"{self.path} is closed")
        lines = [dumps(e) for e in events]
        try:
            self._lines.write_lines(lines)
        except WriteError as err:
            self.close()
            raise JsonlError(str(err)) from None
        self.written += len(lines)

    def close(self) -> None:
        if self._lines is not None:
            self._lines.close()
            self._lines = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

"""Event files: JSON lines written so that a failure never leaves a half line behind.

:class:`JsonlWriter` appends whole lines; when a write fails (a full disk, a
removed folder) it cuts the file back to its last complete line and raises
:class:`JsonlError` with a one-line message, so a reader of the file sees only
whole events, and the command line can report the failure in one line.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO, Self

from interbank.sim.events import Event, dumps


class JsonlError(OSError):
    """Writing an event file failed; the message is one line naming the file and why."""


class JsonlWriter:
    """Append events to ``path`` as canonical JSON lines (``interbank.sim.events.dumps``)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.written = 0  # events
        self._good = 0  # bytes of whole lines known to be in the file
        try:
            self._file: BinaryIO | None = self.path.open("wb")
        except OSError as err:
            raise JsonlError(f"cannot write {self.path}: {err.strerror or err}") from None

    def write(self, events: Iterable[Event]) -> None:
        """Write ``events`` (a step's) as whole lines, flushed; raises JsonlError (file cut back) on failure.
        A ValueError from an event that is not JSON (a non-finite number) is raised as is, the file left whole."""
        if self._file is None:
            raise JsonlError(f"{self.path} is closed")
        data = b"".join((dumps(e) + "\n").encode() for e in events)
        count = data.count(b"\n")
        try:
            self._file.write(data)
            self._file.flush()
        except OSError as err:
            self._cut()
            raise JsonlError(f"cannot write {self.path}: {err.strerror or err}") from None
        self._good += len(data)
        self.written += count

    def _cut(self) -> None:
        """Close the file and truncate it to the last whole line written."""
        file, self._file = self._file, None
        if file is None:
            return
        try:
            file.close()
        except OSError:
            pass  # its buffer could not be written either: the truncate below removes any part of it
        try:
            if self.path.is_file():
                os.truncate(self.path, self._good)
        except OSError:
            pass

    def close(self) -> None:
        if self._file is not None:
            try:
                self._file.close()
            except OSError as err:
                self._cut()
                raise JsonlError(f"cannot write {self.path}: {err.strerror or err}") from None
            self._file = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._file is not None:
            self.close()

"""Files written so that a crash or a full disk never leaves half of one where a reader looks.

``write_atomic``: a whole file, via a temporary in the same folder, fsync and rename.
``LineWriter``: a JSON-lines stream that only ever holds whole lines: a write that fails
(``ENOSPC``, ``EIO`` ...) is cut back to the last complete line before the error is raised.
Errors are ``WriteError`` with a one-line message naming the file and the reason.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from pathlib import Path


class WriteError(ValueError):
    """A file that could not be written: one line naming it and why."""


def _reason(path: Path, err: OSError) -> WriteError:
    reason = err.strerror or str(err)
    return WriteError(f"{path}: cannot write: {reason}" + (f" (errno {err.errno})" if err.errno else ""))


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def write_atomic(path: Path, data: bytes | str) -> None:
    """Write ``path`` whole or not at all (temporary file, fsync, rename); on failure the temporary
    is removed, any old ``path`` is left as it was, and a WriteError is raised."""
    path = Path(path)
    raw = data.encode("utf-8") if isinstance(data, str) else data
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        try:
            special = not stat.S_ISREG(os.stat(path).st_mode)
        except FileNotFoundError:
            special = False
        if special:  # a rename would put the file in place of a device, a pipe or a folder
            raise WriteError(f"{path}: cannot write: not a regular file (a file goes there, replacing only a file)")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            _write_all(fd, raw)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except OSError as err:
        try:
            tmp.unlink(missing_ok=True)
        except OSError:  # (its folder is not one: nothing was made there)
            pass
        raise _reason(path, err) from None


class LineWriter:
    """Write text lines to a new file, a batch at a time, never leaving half a line.

    ``write_lines`` writes the batch with unbuffered writes; if one fails, the file is truncated back
    to the end of the previous batch and a WriteError is raised, so the file always ends in a newline."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        try:
            self.fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        except OSError as err:
            raise _reason(self.path, err) from None
        self.size = 0

    def write_lines(self, lines: Iterable[str]) -> None:
        data = "".join(line + "\n" for line in lines).encode("utf-8")
        if not data:
            return
        try:
            _write_all(self.fd, data)
        except OSError as err:
            try:
                os.ftruncate(self.fd, self.size)
            except OSError:
                pass
            raise _reason(self.path, err) from None
        self.size += len(data)

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


"""Event files never end in a half line, whatever fails."""

import errno

import pytest

from interbank.jsonl import JsonlError, JsonlWriter


def _events(k, n=3):
    return [{"seq": k * n + i, "step": k, "type": "step_start", "data": {"pad": "x" * 50}} for i in range(n)]


class _DiskFills:
    """A file that takes ``room`` bytes, then writes part of a buffer and fails like a full disk."""

    def __init__(self, real, room):
        self.real, self.room = real, room

    def write(self, data):
        if len(data) > self.room:
            self.real.write(data[:self.room])  # a partial write reaches the disk
            self.real.flush()
            self.room = 0
            raise OSError(errno.ENOSPC, "No space left on device")
        self.room -= len(data)
        return self.real.write(data)

    def flush(self):
        self.real.flush()

    def close(self):
        self.real.close()


def test_a_full_disk_leaves_only_whole_lines(tmp_path):
    path = tmp_path / "e.jsonl"
    writer = JsonlWriter(path)
    writer._file = _DiskFills(writer._file, room=500)
    writer.write(_events(0))
    with pytest.raises(JsonlError, match="No space left on device"):
        for k in range(1, 10):
            writer.write(_events(k))
    text = path.read_text()
    assert text.endswith("\n") and writer.written == 3
    assert [line.count('"seq"') for line in text.splitlines()] == [1, 1, 1]


def test_a_non_finite_event_is_refused_and_the_file_stays_whole(tmp_path):
    path = tmp_path / "e.jsonl"
    with JsonlWriter(path) as writer:
        writer.write(_events(0))
        with pytest.raises(ValueError):
            writer.write([{"seq": 3, "step": 1, "type": "step_end", "data": {"x": float("nan")}}])
    assert path.read_text().count("\n") == 3

"""Event files never end in a half line, whatever fails."""

import errno

import pytest

from interbank.jsonl import JsonlError, JsonlWriter


def _events(k, n=3):
    return [{"seq": k * n + i, "step": k, "type": "step_start", "data": {"pad": "x" * 50}} for i in range(n)]


def test_a_full_disk_leaves_only_whole_lines(tmp_path, monkeypatch):
    import os

    import interbank.files

    path = tmp_path / "e.jsonl"
    writer = JsonlWriter(path)
    writer.write(_events(0))
    room = [500 - path.stat().st_size]
    real_write = os.write

    def disk_fills(fd, data):
        if len(data) > room[0]:
            real_write(fd, bytes(data[: room[0]]))  # part of the batch lands, then the disk is full
            room[0] = 0
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        room[0] -= len(data)
        return real_write(fd, data)

    monkeypatch.setattr(interbank.files.os, "write", disk_fills)
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

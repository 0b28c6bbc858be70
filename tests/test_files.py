"""Whole files and whole lines on a full disk (a monkeypatched os.write raising ENOSPC half-way)."""

import errno
import json
import os

import pytest

from interbank.cli import main
from interbank.files import LineWriter, WriteError, write_atomic


def full_disk_after(monkeypatch, target: str, good_writes: int) -> None:
    """os.write to a file whose path contains ``target`` succeeds ``good_writes`` times, then writes half
    of its data and raises ENOSPC."""
    real = os.write
    calls = {"n": 0}

    def write(fd, data):
        if target in os.readlink(f"/proc/self/fd/{fd}"):
            calls["n"] += 1
            if calls["n"] > good_writes:
                real(fd, bytes(data)[: max(1, len(data) // 2)])
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(fd, data)

    monkeypatch.setattr(os, "write", write)


def test_write_atomic_on_a_full_disk_keeps_the_old_file_and_leaves_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "config.yaml"
    path.write_text("old: 1\n")
    full_disk_after(monkeypatch, str(tmp_path), 0)
    with pytest.raises(WriteError) as err:
        write_atomic(path, "new: 2\n" * 1000)
    monkeypatch.undo()
    assert str(err.value) == f"{path}: cannot write: No space left on device (errno 28)"
    assert path.read_text() == "old: 1\n"
    assert [p.name for p in tmp_path.iterdir()] == ["config.yaml"]


def test_line_writer_cuts_a_failed_batch_back_to_the_last_whole_line(tmp_path, monkeypatch):
    path = tmp_path / "events.jsonl"
    writer = LineWriter(path)
    writer.write_lines(['{"a": 1}', '{"b": 2}'])
    full_disk_after(monkeypatch, "events.jsonl", 0)
    with pytest.raises(WriteError):
        writer.write_lines(['{"c": 3}', '{"d": 4}'])
    monkeypatch.undo()
    writer.close()
    assert path.read_text() == '{"a": 1}\n{"b": 2}\n'


def test_simulate_events_on_a_full_disk_is_one_line_and_the_file_ends_in_a_whole_event(tmp_path, monkeypatch, capsys):
    events = tmp_path / "run.jsonl"
    full_disk_after(monkeypatch, "run.jsonl", 5)
    with pytest.raises(SystemExit) as exit_:
        main(["simulate", "--banks", "8", "--steps", "20", "--seed", "1", "--events", str(events), "--no-progress"])
    monkeypatch.undo()
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and err.count("\n") == 1
    assert err.startswith(f"interbank: --events: {events}: cannot write: No space left on device (errno 28)")
    text = events.read_text()
    assert text.endswith("\n") and text.count("\n") >= 5
    assert [json.loads(line)["seq"] for line in text.splitlines()] == list(range(text.count("\n")))


def test_write_atomic_under_a_file_is_one_write_error(tmp_path):
    parent = tmp_path / "afile"
    parent.write_text("x")
    with pytest.raises(WriteError, match="cannot write: Not a directory"):
        write_atomic(parent / "out.json", "{}")
    assert parent.read_text() == "x"


def test_write_atomic_never_puts_a_file_in_place_of_a_special_one(tmp_path):
    import os
    import stat

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(WriteError, match="not a regular file"):
        write_atomic(fifo, "{}")
    assert stat.S_ISFIFO(fifo.stat().st_mode)  # still the pipe
    folder = tmp_path / "folder"
    folder.mkdir()
    with pytest.raises(WriteError, match="not a regular file"):
        write_atomic(folder, "{}")
    assert folder.is_dir() and list(folder.iterdir()) == []


def test_write_atomic_of_a_name_too_long_is_one_write_error(tmp_path):
    with pytest.raises(WriteError, match="File name too long"):
        write_atomic(tmp_path / ("x" * 300), "{}")

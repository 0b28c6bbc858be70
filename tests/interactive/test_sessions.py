"""Sessions in-process: bounded history with a spill on disk, viewers, pacing, eviction, budget."""

import asyncio
import errno
import json
import time

import pytest

from interbank.config import resolve_env_config
from interbank.interactive.runner import CommandError, Runner
from interbank.interactive.sessions import Item, Session, SessionStore, Spill, Viewer
from interbank.policies import make_policy
from interbank.sim.events import dumps
from tests.interactive.sse_client import parse


def _runner(n_banks=20, steps=60, seed=1, policy="heuristic"):
    return Runner(resolve_env_config(n_banks=n_banks, max_steps=steps), make_policy(policy, seed), seed)


def _reference(n_banks=20, steps=60, seed=1, policy="heuristic"):
    """The same run's events, straight from a runner (the stream a session must reproduce)."""
    r = _runner(n_banks, steps, seed, policy)
    events = r.take_events()
    while not r.finished:
        r.step()
        events += r.take_events()
    return events


async def _collect(backlog):
    return b"".join([chunk async for chunk in backlog])


def _events(raw: bytes):
    return [{k: v for k, v in e.items() if not k.startswith("_")} for e in parse(raw.decode().split("\r\n"))]


def test_item1_history_is_a_bounded_window_and_last_event_id_resumes_exactly_from_disk(tmp_path):
    expected = _reference()

    async def main():
        session = Session("s1", _runner(), 0, 10_000, window_bytes=100_000, spill=Spill(tmp_path / "s1", 10**9))
        peak = 0
        original = session.publish

        def publish(events):
            nonlocal peak
            original(events)
            peak = max(peak, session.history_bytes)

        session.publish = publish
        await session.drive()
        assert session.history[0].seq > 100  # older events left memory ...
        for after in (-1, 0, 57, session.history[0].seq - 2, session.history[0].seq, session.last_seq - 1):
            backlog, viewer = session.subscribe(after)
            got = _events(await _collect(backlog))
            assert got == expected[after + 1:], after  # ... and come back exactly, from disk then memory
            assert viewer.closed  # a finished session's stream ends after the backlog
        return peak

    peak = asyncio.run(main())
    step_bytes = max(len(dumps(e)) for e in expected) * 60
    assert peak <= 100_000 + step_bytes
    lines = b"".join(p.read_bytes() for p in sorted((tmp_path / "s1").iterdir())).splitlines()
    assert [line.decode() for line in lines] == [dumps(e) for e in expected]  # the spill is the stream


def test_item1_session_memory_stays_bounded_however_long_it_runs(tmp_path):
    held = []

    async def main():
        session = Session("s2", _runner(n_banks=100, steps=150, policy="hold"), 0, 100, window_bytes=500_000,
                          spill=Spill(tmp_path / "s2", 2_000_000))
        slow = Viewer(10**9, 500_000)  # a viewer that never reads: dropped, not buffering forever
        session.viewers.add(slow)
        original = session.publish

        def publish(events):
            original(events)
            held.append(session.history_bytes + sum(v.bytes for v in session.viewers))

        session.publish = publish
        await session.drive()
        return session, slow

    session, slow = asyncio.run(main())
    assert session.runner.state == "complete" and session.last_seq > 6_000  # ~8 MB streamed
    assert slow.dropped and session.dropped_viewers == 1
    assert max(held) < 2 * 500_000 + 2 * 60_000  # the window and a viewer's lag (each a window), and a step
    spilled = sum(p.stat().st_size for p in (tmp_path / "s2").iterdir())
    assert spilled <= 2_000_000 + 300_000  # the spill keeps the newest 2 MB (and one segment)


def test_item1_events_no_longer_on_disk_are_410(tmp_path):
    async def main():
        session = Session("s3", _runner(steps=80), 0, 100, window_bytes=50_000, spill=Spill(tmp_path / "s3", 200_000))
        await session.drive()
        with pytest.raises(CommandError) as err:
            session.subscribe(3)
        assert err.value.status == 410 and "no longer kept" in err.value.message
        oldest = session.spill.oldest
        backlog, _ = session.subscribe(oldest - 1)  # from the oldest kept event on: exact
        got = _events(await _collect(backlog))
        assert [e["seq"] for e in got] == list(range(oldest, session.last_seq + 1))

    asyncio.run(main())


def test_a_spill_that_fills_the_disk_leaves_whole_lines_and_the_session_runs_on(tmp_path):
    class Full:
        def __init__(self, real, room):
            self.real, self.room = real, room

        def write(self, data):
            if len(data) > self.room:
                self.real.write(data[:self.room])
                self.room = 0
                raise OSError(errno.ENOSPC, "No space left on device")
            self.room -= len(data)
            return self.real.write(data)

        def __getattr__(self, name):
            return getattr(self.real, name)

    async def main():
        spill = Spill(tmp_path / "s4", 10**9)
        session = Session("s4", _runner(steps=40), 0, 100, window_bytes=30_000, spill=spill)
        spill.file = Full(spill.file, 5_000)
        await session.drive()
        assert session.runner.state == "complete"
        assert "No space left on device" in spill.error
        with pytest.raises(CommandError) as err:
            session.subscribe(0)
        assert err.value.status == 410 and "No space left on device" in err.value.message

    asyncio.run(main())
    text = b"".join(p.read_bytes() for p in sorted((tmp_path / "s4").iterdir()))
    seqs = [json.loads(line)["seq"] for line in text.splitlines()]  # whole lines only
    assert text.endswith(b"\n") and seqs == list(range(len(seqs))) and 0 < len(seqs) < 60


def test_a_lagging_viewer_is_dropped_by_bytes_and_one_chunk_always_fits():
    async def main():
        viewer = Viewer(max_events=10, max_bytes=100)
        big = Item(5, b"x" * 500, count=50)
        assert viewer.offer(big)  # an empty buffer takes any one chunk
        assert not viewer.offer(Item(6, b"y"))  # a second one overflows: dropped
        items, over = await viewer.take()
        assert over and items == []  # what it missed is on disk: it reconnects with Last-Event-ID

    asyncio.run(main())


@pytest.mark.parametrize("speed", [1e-9, 2.17e-184, 0.01])
def test_item3_stop_ends_a_slow_session_and_its_viewers_within_a_tick(speed):
    async def main():
        session = Session("s5", _runner(steps=1000), speed, 100)
        session.task = asyncio.get_running_loop().create_task(session.drive())
        while session.runner.status().step < 1:
            await asyncio.sleep(0.01)
        _, viewer = session.subscribe(session.last_seq)
        started = time.perf_counter()
        await session.command("stop")
        await asyncio.wait_for(session.task, 30)  # the pacing wait is interrupted, not slept out
        _, over = await asyncio.wait_for(viewer.take(), 30)
        assert over and session.done.is_set() and session.runner.state == "stopped"
        return time.perf_counter() - started

    assert asyncio.run(main()) < 10  # one tick is 0.25 s; generous for a busy machine


def test_pause_interrupts_the_wait_too():
    async def main():
        session = Session("s6", _runner(steps=1000), 0.01, 100)
        session.task = asyncio.get_running_loop().create_task(session.drive())
        while session.runner.status().step < 1:
            await asyncio.sleep(0.01)
        await session.command("pause")
        await session.command("resume")  # resumed: the next step does not wait out the old 100 s period
        await session.command("pause")
        assert session.runner.state == "paused" and not session.task.done()
        await session.command("stop")
        await asyncio.wait_for(session.task, 30)

    asyncio.run(main())


def test_finished_sessions_are_evicted_after_their_ttl_with_their_spill(tmp_path):
    async def main():
        store = SessionStore(4, finished_ttl=0.2, spill_dir=tmp_path)
        session = store.add(_runner(steps=5), 0, 100)
        await asyncio.wait_for(session.task, 60)
        assert (tmp_path / session.id).is_dir()
        while session.id in store.sessions:  # the reaper runs on its own
            await asyncio.sleep(0.05)
        assert not (tmp_path / session.id).exists()
        with pytest.raises(CommandError) as err:
            store.get(session.id)
        assert err.value.status == 404
        await store.close()

    asyncio.run(asyncio.wait_for(main(), 60))


def test_the_memory_budget_refuses_with_503_and_finished_sessions_make_room(tmp_path):
    async def main():
        store = SessionStore(8, memory_budget=45_000_000, spill_dir=tmp_path)
        need = store.footprint(500, 5000)
        assert 15_000_000 < need < 25_000_000 and store.footprint(20, 5000) < 20_000_000
        first = store.add(_runner(n_banks=20, steps=5000), 0.01, 100)
        store.check_room(500, 5000)  # fits beside it
        second = store.add(_runner(n_banks=500, steps=5000), 0.01, 100)
        with pytest.raises(CommandError) as err:
            store.check_room(500, 5000)
        assert err.value.status == 503 and "not enough memory" in err.value.message and "MB" in err.value.message
        await second.command("stop")
        await asyncio.wait_for(second.task, 30)
        store.check_room(500, 5000)  # the finished session is evicted to make room
        assert second.id not in store.sessions and first.id in store.sessions
        await store.close()

    asyncio.run(asyncio.wait_for(main(), 120))


def test_spills_left_by_servers_that_are_gone_are_removed(tmp_path):
    import os
    import subprocess
    import sys

    from interbank.interactive.sessions import SPILL_PREFIX, remove_stale_spills

    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                          check=True).stdout.strip()
    stale = tmp_path / f"{SPILL_PREFIX}{gone}-abc"
    live = tmp_path / f"{SPILL_PREFIX}{os.getppid()}-def"
    mine = tmp_path / f"{SPILL_PREFIX}{os.getpid()}-ghi"
    for folder in (stale, live, mine):
        (folder / "s1").mkdir(parents=True)
    assert remove_stale_spills(tmp_path) == [stale]
    assert not stale.exists() and live.exists() and mine.exists()

"""Sessions in-process: bounded history with a spill on disk, viewers, pacing, eviction, budget."""

import asyncio
import errno
import json
import time

import pytest

from interbank.config import resolve_env_config
from interbank.interactive.runner import CommandError, Runner
from interbank.interactive.sessions import Item, Session, SessionStore, Spill, Window
from interbank.policies import make_policy
from interbank.sim.events import dumps
from tests.deadlines import HANG_S
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


def test_history_is_a_bounded_window_and_last_event_id_resumes_exactly_from_disk(tmp_path):
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
            got = _events(await _collect(session.follow(after)))  # a finished session's stream ends
            assert got == expected[after + 1:], after  # ... and older events come back exactly, from disk
        return peak

    peak = asyncio.run(main())
    step_bytes = max(len(dumps(e)) for e in expected) * 60
    assert peak <= 100_000 + step_bytes
    lines = b"".join(p.read_bytes() for p in sorted((tmp_path / "s1").iterdir())).splitlines()
    assert [line.decode() for line in lines] == [dumps(e) for e in expected]  # the spill is the stream


def test_session_memory_stays_bounded_however_long_it_runs_and_a_stalled_viewer_is_dropped(tmp_path):
    held = []

    async def main():
        session = Session("s2", _runner(n_banks=100, steps=150, policy="hold"), 0, 100, window_bytes=500_000,
                          spill=Spill(tmp_path / "s2", 2_000_000))
        original = session.publish

        def publish(events):
            original(events)
            held.append(session.history_bytes + sum(len(j[2]) for j in session._joined.values()))

        session.publish = publish
        session.task = asyncio.get_running_loop().create_task(session.drive())
        stalled = session.follow(session.last_seq)  # a viewer whose first live write never completes
        await anext(stalled)
        await session.task
        return session

    session = asyncio.run(main())
    assert session.runner.state == "complete" and session.last_seq > 6_000  # ~8 MB streamed
    assert session.dropped_viewers == 1 and not session.viewers  # it did not read: dropped, holding nothing
    assert max(held) < 500_000 + 2 * 60_000  # the window and a step (viewers hold no events of their own)
    spilled = sum(p.stat().st_size for p in (tmp_path / "s2").iterdir())
    assert spilled <= 2_000_000 + 300_000  # the spill keeps the newest 2 MB (and one segment)


def test_events_no_longer_on_disk_are_410_and_the_oldest_kept_resumes_exactly(tmp_path):
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


def test_the_window_is_addressed_by_absolute_position():
    window = Window()
    for seq in range(3000):
        window.append(Item(seq, b"%d" % seq))
    for _ in range(2500):
        window.popleft()
    assert window.base == 2500 and window.end == 3000 and len(window) == 500
    assert window[0].seq == 2500 and window[-1].seq == 2999
    assert [i.seq for i in window.slice(2990, 2993)] == [2990, 2991, 2992]
    assert [i.seq for i in window][:2] == [2500, 2501]
    window.clear()
    assert window.base == window.end == 3000 and len(window) == 0


def test_every_viewer_gets_the_exact_stream_and_a_lagging_reader_is_refed_from_disk(tmp_path):
    expected = _reference(n_banks=30, steps=80)

    async def main():
        session = Session("s7", _runner(n_banks=30, steps=80), 0, 10**9, window_bytes=60_000,
                          spill=Spill(tmp_path / "s7", 10**9))
        fast = [session.follow(-1) for _ in range(3)]
        slow = session.follow(-1)
        slow_got = [await anext(slow)]  # it reads its backlog, then nothing until the session ends
        session.task = asyncio.get_running_loop().create_task(session.drive())

        async def read(stream):
            return [chunk async for chunk in stream]

        got = await asyncio.gather(*(read(stream) for stream in fast))
        await session.task
        slow_got += [chunk async for chunk in slow]  # far out of the window by now: re-fed from disk
        return got, slow_got, session

    got, slow_got, session = asyncio.run(asyncio.wait_for(main(), HANG_S))
    for chunks in got:
        assert _events(b"".join(chunks)) == expected
    assert _events(b"".join(slow_got)) == expected
    # the slow reader was re-fed from disk (a fast one may be too, on a busy machine: the producer
    # does not wait for readers, so how often is scheduling, not a property); nobody was dropped
    assert session.resynced_viewers >= 1 and session.dropped_viewers == 0


def test_viewers_at_the_same_position_share_one_write():
    """Driven step by step on the loop (no producer thread), so the interleaving is fixed: every
    publish finds the three viewers waiting at the same position, and each gets the same bytes."""
    async def main():
        runner = _runner(n_banks=10, steps=5)
        session = Session("s10", runner, 0, 10**9)
        fast = [session.follow(-1) for _ in range(3)]
        for stream in fast:
            await anext(stream)  # the backlog (the init event)
        writes = []
        while not runner.finished:
            waiting = [asyncio.ensure_future(anext(stream)) for stream in fast]
            await asyncio.sleep(0)  # each viewer now waits for the next publish
            runner.step()
            session.publish(runner.take_events())
            writes.append(await asyncio.gather(*waiting))
        session.done.set()
        return writes

    writes = asyncio.run(asyncio.wait_for(main(), HANG_S))
    assert len(writes) == 5
    for chunks in writes:
        assert chunks[0] is chunks[1] is chunks[2] and chunks[0].count(b"event: step_end") == 1


def test_a_viewer_dropped_while_its_write_hangs_goes_on_exactly_when_it_reads_again(tmp_path):
    expected = _reference(n_banks=30, steps=80)

    async def main():
        session = Session("s8", _runner(n_banks=30, steps=80), 0, 50, spill=Spill(tmp_path / "s8", 10**9))
        session.task = asyncio.get_running_loop().create_task(session.drive())
        stream = session.follow(-1)
        got = [await anext(stream), await anext(stream)]  # the backlog, then a live write that hangs ...
        await asyncio.wait_for(session.task, HANG_S)
        dropped = session.dropped_viewers  # ... while the session runs on, far more than 50 events
        got += [chunk async for chunk in stream]  # it reads again: on from where it was
        return got, dropped, session

    got, dropped, session = asyncio.run(main())
    assert dropped == 1 and session.dropped_viewers == 0 and session.resynced_viewers == 1
    assert _events(b"".join(got)) == expected


@pytest.mark.parametrize("speed", [1e-9, 2.17e-184, 1e-4])
def test_stop_ends_a_slow_session_and_its_viewers_without_sleeping_out_its_period(speed):
    # every period here (1 / speed: 10,000 s and more) is longer than the hang deadline, so a session
    # that ends at all was interrupted, not slept out: no wall-clock bound on a busy machine's pace
    assert 1.0 / speed > HANG_S

    async def main():
        session = Session("s5", _runner(steps=1000), speed, 100)
        session.task = asyncio.get_running_loop().create_task(session.drive())
        while session.runner.status().step < 1:
            await asyncio.sleep(0.01)
        stream = session.follow(session.last_seq)
        viewer = asyncio.get_running_loop().create_task(_collect(stream))
        await session.command("stop")
        await asyncio.wait_for(session.task, HANG_S)  # the pacing wait is interrupted, not slept out
        tail = _events(await asyncio.wait_for(viewer, HANG_S))  # and the viewer's stream ends
        assert [e["type"] for e in tail][-2:] == ["stopped", "complete"]
        assert session.done.is_set() and session.runner.state == "stopped"
        assert session.runner.status().step == 1

    asyncio.run(main())


def test_commands_land_between_the_steps_of_a_session_at_full_speed():
    async def main():
        session = Session("s9", _runner(n_banks=50, steps=5000), 0, 100)
        session.task = asyncio.get_running_loop().create_task(session.drive())
        while session.runner.status().step < 2:
            await asyncio.sleep(0.01)
        await asyncio.wait_for(session.command("pause"), HANG_S)  # the producer lets it in
        assert session.runner.state == "paused" and session.runner.status().step < 5000
        await session.command("stop")
        await asyncio.wait_for(session.task, HANG_S)

    asyncio.run(main())


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
        await asyncio.wait_for(session.task, HANG_S)

    asyncio.run(main())


def test_finished_sessions_are_evicted_after_their_ttl_with_their_spill(tmp_path):
    async def main():
        store = SessionStore(4, finished_ttl=0.2, spill_dir=tmp_path)
        session = store.add(_runner(steps=5), 0, 100)
        await asyncio.wait_for(session.task, HANG_S)
        assert (tmp_path / session.id).is_dir()
        while session.id in store.sessions:  # the reaper runs on its own
            await asyncio.sleep(0.05)
        assert not (tmp_path / session.id).exists()
        with pytest.raises(CommandError) as err:
            store.get(session.id)
        assert err.value.status == 404
        await store.close()

    asyncio.run(asyncio.wait_for(main(), HANG_S))


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
        await asyncio.wait_for(second.task, HANG_S)
        # the finished session gave its simulation back: only its stream window is counted now
        assert second.runner.env is None and second.footprint < store.footprint(500, 5000) // 4
        store.check_room(500, 5000)
        assert first.id in store.sessions
        await store.close()

    asyncio.run(asyncio.wait_for(main(), HANG_S))


def test_too_many_sessions_says_they_are_open_not_running_when_they_are_paused(tmp_path):
    async def main():
        store = SessionStore(2, memory_budget=None, spill_dir=tmp_path)
        sessions = [store.add(_runner(n_banks=5, steps=100), 0.01, 100) for _ in range(2)]
        for session in sessions:
            await session.command("pause")
        with pytest.raises(CommandError) as err:
            store.check_room(5, 100)
        assert err.value.status == 429
        assert err.value.message == "too many sessions: 2 sessions are open (ready, running or paused; none finished); stop one first"
        assert [s.status()["state"] for s in sessions] == ["paused", "paused"]
        await store.close()

    asyncio.run(asyncio.wait_for(main(), HANG_S))


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


def test_an_item_of_several_events_resumes_after_any_of_its_seqs():
    frames = [b"<%d>" % seq for seq in range(10, 15)]
    item = Item.batch(list(range(10, 15)), frames)
    assert (item.seq, item.last, item.frame) == (10, 14, b"".join(frames))
    for after in range(8, 16):
        assert item.after(after) == b"".join(f for seq, f in zip(range(10, 15), frames) if seq > after)


def test_a_full_table_makes_room_for_a_branch_without_evicting_its_finished_parent(tmp_path):
    async def main():
        store = SessionStore(2, memory_budget=None, spill_dir=tmp_path)
        parent = store.add(_runner(n_banks=6, steps=12), 0, 100)
        await asyncio.wait_for(parent.task, HANG_S)  # finished: the only session eviction could take
        other = store.add(_runner(n_banks=6, steps=100), 0.01, 100)
        await other.command("pause")
        with pytest.raises(CommandError) as err:  # no room but the parent's, which the branch reads
            await store.branch(parent, 5)
        assert err.value.status == 429 and parent.id in store.sessions
        await other.command("stop")
        await asyncio.wait_for(other.task, HANG_S)
        child = await store.branch(parent, 5)  # the other finished session makes the room
        assert other.id not in store.sessions and parent.id in store.sessions
        assert child.status()["state"] == "paused" and child.status()["step"] == 5
        await store.close()

    asyncio.run(asyncio.wait_for(main(), HANG_S))


def test_a_refused_start_evicts_nothing(tmp_path):
    """A start refused for want of places leaves the finished sessions it could not use in place (it
    evicted them one by one and then refused, cutting their viewers off for nothing)."""
    async def main():
        store = SessionStore(2, memory_budget=None, spill_dir=tmp_path)
        finished = store.add(_runner(n_banks=6, steps=12), 0, 100)
        await asyncio.wait_for(finished.task, HANG_S)
        running = store.add(_runner(n_banks=6, steps=100), 0.01, 100)
        await running.command("pause")
        held = store.reserve(6, 100, replacing=running)  # a replacing start being built: one place more
        with pytest.raises(CommandError) as err:  # two places short, one finished session to give
            store.check_room(6, 100)
        assert err.value.status == 429 and "1 finished, 1 being started" in err.value.message
        assert finished.id in store.sessions
        store.unreserve(held)
        store.check_room(6, 100)  # now the finished one makes the room
        assert finished.id not in store.sessions
        await store.close()

    asyncio.run(asyncio.wait_for(main(), HANG_S))

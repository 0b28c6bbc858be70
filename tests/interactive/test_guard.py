"""The server's front door at the ASGI level: a body that stalls is refused, not waited for; one that
keeps coming, however slowly, is read."""

import asyncio
import json

from interbank.interactive.guard import RequestGuard
from tests.deadlines import HANG_S


def _scope(length: int) -> dict:
    return {"type": "http", "method": "POST", "path": "/api/interactive/start",
            "headers": [(b"host", b"127.0.0.1"), (b"content-type", b"application/json"),
                        (b"content-length", str(length).encode())]}


def test_a_body_sent_in_part_is_refused_with_408_and_the_route_never_runs():
    reached = []

    async def app(scope, receive, send):
        reached.append(scope["path"])

    async def main():
        sent = [{"type": "http.request", "body": b'{"n_banks":', "more_body": True}]

        async def receive():
            if sent:
                return sent.pop()
            await asyncio.Event().wait()  # the rest of the body never comes

        out = []

        async def send(message):
            out.append(message)

        await RequestGuard(app, body_seconds=0.05)(_scope(40), receive, send)
        return out

    out = asyncio.run(asyncio.wait_for(main(), HANG_S))
    assert out[0]["status"] == 408 and reached == []
    assert json.loads(out[1]["body"]) == {"error": "the body stalled: nothing of it arrived for 0.05 s"}


def test_a_body_that_arrives_in_parts_in_time_reaches_the_route():
    got = []

    async def app(scope, receive, send):
        got.append((await receive())["body"])

    async def main():
        parts = [{"type": "http.request", "body": b'{"n_banks": 5}', "more_body": False},
                 {"type": "http.request", "body": b"", "more_body": True}]

        async def receive():
            return parts.pop()

        await RequestGuard(app, body_seconds=HANG_S)(_scope(14), receive, lambda message: asyncio.sleep(0))

    asyncio.run(asyncio.wait_for(main(), HANG_S))
    assert got == [b'{"n_banks": 5}']


def test_a_body_that_keeps_coming_slowly_is_read_however_long_it_takes_in_all():
    """The limit is on a stall, not on the whole: pieces each within the limit, longer than it in all."""
    got = []

    async def app(scope, receive, send):
        got.append((await receive())["body"])

    async def main():
        pieces = [b'{"n_banks"', b": ", b"5}"]

        async def receive():
            await asyncio.sleep(0.7)  # each piece well within the 2 s stall limit, 2.1 s in all
            body = pieces.pop(0)
            return {"type": "http.request", "body": body, "more_body": bool(pieces)}

        await RequestGuard(app, body_seconds=2.0)(_scope(14), receive, lambda message: asyncio.sleep(0))

    asyncio.run(asyncio.wait_for(main(), HANG_S))
    assert got == [b'{"n_banks": 5}']

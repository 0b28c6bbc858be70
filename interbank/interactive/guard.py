"""The server's front door, as plain ASGI middleware: every request passes it before any route.

- ``Host`` must name this server (loopback names by default): a page on another
  site cannot reach a loopback server through DNS rebinding. 400 otherwise.
- A request body is read here, counted while it arrives, and refused with 413 past
  ``max_body_bytes`` whether or not it came with a ``Content-Length`` (chunked
  bodies included); a ``Content-Length`` that is not a whole number is a 400.
- ``POST`` bodies must be ``application/json`` (415), UTF-8 (422) and nested at most
  ``max_depth`` levels (422): the routes never see anything else.
- A body that stalls, no byte arriving for ``body_seconds``, is refused (408): a client that declares
  a body and sends part of it does not hold a connection open for as long as it likes (a slow but
  steady client is not cut off).

Every refusal is a JSON ``{"error": "..."}`` body, like the routes' own errors.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from interbank.ui import clipped

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


BODY_STALL_SECONDS = 30.0
"""How long a request body may go without a byte arriving before it is refused (408)."""


def host_name(header: str) -> str:
    """The name part of a Host header: ``[::1]:8000`` -> ``::1``, ``Example.org:80`` -> ``example.org``."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1:header.find("]")] if "]" in header else header
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


def json_depth_exceeds(value: Any, limit: int) -> bool:
    """Whether a parsed JSON value nests deeper than ``limit`` arrays/objects (iterative)."""
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, (dict, list)):
            if depth > limit:
                return True
            stack.extend((child, depth + 1) for child in (node.values() if isinstance(node, dict) else node))
    return False


async def send_error(send: Send, status: int, message: str) -> None:
    body = json.dumps({"error": message}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})


class DuplicateKey(ValueError):
    """A JSON object that names a key twice (``args[0]``: the key)."""


def _distinct_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """``json.loads``' object hook: the object, or DuplicateKey for a key it names twice."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise DuplicateKey(key)
        out[key] = value
    return out


class RequestGuard:
    """ASGI middleware: trusted hosts, body size while reading, JSON content type, encoding and depth."""

    def __init__(self, app: Callable, allowed_hosts: Iterable[str] | None = LOOPBACK_HOSTS,
                 max_body_bytes: int = 1_000_000, max_depth: int = 32, body_seconds: float = BODY_STALL_SECONDS) -> None:
        self.app = app
        self.allowed = None if allowed_hosts is None or "*" in allowed_hosts else {host_name(h) for h in allowed_hosts}
        self.max_body_bytes = max_body_bytes
        self.max_depth = max_depth
        self.body_seconds = body_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers: dict[str, str] = {}
        for key, value in scope.get("headers", ()):
            headers[key.decode("latin-1").lower()] = value.decode("latin-1")
        if self.allowed is not None:
            host = headers.get("host", "")
            if host_name(host) not in self.allowed:
                await send_error(send, 400, f"Host {clipped(repr(host))} is not allowed: this server answers to "
                                            f"{', '.join(sorted(self.allowed))} (serve --allowed-host adds names)")
                return
        if scope["method"] not in ("POST", "PUT", "PATCH"):
            await self.app(scope, receive, send)
            return
        length = headers.get("content-length")
        if length is not None:
            if not length.strip().isascii() or not length.strip().isdigit():
                await send_error(send, 400, f"Content-Length must be a whole number of bytes, got {clipped(repr(length))}")
                return
            if int(length) > self.max_body_bytes:
                await send_error(send, 413, f"body too large (at most {self.max_body_bytes} bytes)")
                return
        ctype = headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype != "application/json":
            await send_error(send, 415, "send the body as JSON with Content-Type: application/json")
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            try:
                message = await asyncio.wait_for(receive(), self.body_seconds)
            except TimeoutError:
                await send_error(send, 408, f"the body stalled: nothing of it arrived for {self.body_seconds:g} s")
                return
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:  # stop reading: the rest is never buffered
                await send_error(send, 413, f"body too large (at most {self.max_body_bytes} bytes)")
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as err:  # the framework would answer it 400, without saying where
            await send_error(send, 422, f"the body is not UTF-8 JSON: byte {err.object[err.start]:#04x} at "
                                        f"position {err.start} ({err.reason})")
            return
        nul = body.find(b"\x00")
        if nul >= 0:  # (json.loads of bytes would read it as UTF-16 or UTF-32; JSON text never holds a NUL byte)
            await send_error(send, 422, f"the body is not UTF-8 JSON: byte 0x00 at position {nul} (UTF-16 or UTF-32?)")
            return
        try:
            # (the text decoded once; a UTF-8 byte order mark skipped, as json.loads of the bytes skips it)
            parsed = json.loads(text.removeprefix("\ufeff"), object_pairs_hook=_distinct_keys)
        except DuplicateKey as err:  # JSON would keep the last silently: which one was meant is not known
            await send_error(send, 422, f"the body gives {err.args[0]!r} twice")
            return
        except RecursionError:
            parsed = None
            too_deep = True
        except ValueError:  # not JSON: the route's own validation says so
            parsed, too_deep = None, False
        else:
            too_deep = json_depth_exceeds(parsed, self.max_depth)
        if too_deep:
            await send_error(send, 422, f"the body is nested too deeply (at most {self.max_depth} levels)")
            return
        del parsed
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

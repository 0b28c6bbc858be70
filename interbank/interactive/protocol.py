"""uvicorn's HTTP/1.1 protocol (h11) with its one plain-text answer made JSON.

uvicorn answers a request it cannot parse (a malformed request line or header,
such as ``Content-Length: abc``) itself, before any app code runs, with
``text/plain`` "Invalid HTTP request received.". This subclass answers the same
400 as ``{"error": "..."}`` like every other error of the server.
"""

from __future__ import annotations

import json

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

INVALID = "invalid HTTP request: a malformed request line or header (e.g. a Content-Length that is not a number)"


class JsonErrorH11Protocol(H11Protocol):
    """``H11Protocol`` whose 400 for an unparsable request is a JSON error body."""

    def send_400_response(self, msg: str) -> None:
        body = json.dumps({"error": INVALID}).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                   (b"connection", b"close")]
        for event in (h11.Response(status_code=400, headers=headers, reason=b"Bad Request"), h11.Data(data=body),
                      h11.EndOfMessage()):
            self.transport.write(self.conn.send(event))
        self.transport.close()

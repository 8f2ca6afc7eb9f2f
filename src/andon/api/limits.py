"""How large a request may be, enforced before anything else reads it.

``BodyLimit`` is pure ASGI middleware in front of routing, so it runs before any route's
authentication dependency and before FastAPI reads a body for a route's parameters: an
anonymous caller cannot make the server hold more than ``max_bytes`` of a request.

- A request whose ``Content-Length`` exceeds the limit is answered 413 at once; its body is
  never read.
- A request without ``Content-Length`` (``Transfer-Encoding: chunked``) is read by the
  middleware as it streams; once the bytes exceed the limit reading stops and the answer is
  413. A body within the limit is handed on to the app unchanged (at most ``max_bytes`` held).

The refusal is one JSON line, ``{"error": "<reason>"}``, the shape of every API error
(``andon.api.errors``), and closes the connection (the rest of the body is never read).
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["MAX_BODY_BYTES", "BodyLimit"]

#: the largest request body the app accepts by default (1 MiB): the plant spec
#: (``andon.api.routes.MAX_SPEC_BYTES``) is the largest body a route takes
MAX_BODY_BYTES = 1 << 20


class BodyLimit:
    """ASGI middleware refusing request bodies over ``max_bytes`` with 413, unread."""

    def __init__(self, app: ASGIApp, *, max_bytes: int = MAX_BODY_BYTES) -> None:
        if max_bytes < 0:
            raise ValueError(f"max_bytes must be zero or more, got {max_bytes!r}")
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass a request on if its body fits the limit; answer 413 otherwise."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _header(scope, b"content-length")
        if declared is not None:
            if not declared.isdigit():
                await _refuse(send, 400, "the Content-Length header is not a number of bytes")
            elif int(declared) > self.max_bytes:
                await _refuse(send, 413, self._reason(f"declares {int(declared)} bytes"))
            else:
                await self.app(scope, receive, send)  # the server reads no more than declared
            return
        held: list[Message] = []
        size = 0
        while True:  # a streamed body: read it here, bounded, before the app sees any of it
            message = await receive()
            held.append(message)
            if message["type"] != "http.request":
                break  # the client went away; the app sees the disconnect as it would
            size += len(message.get("body", b""))
            if size > self.max_bytes:
                await _refuse(send, 413, self._reason(f"streamed more than {self.max_bytes} "
                                                      "bytes"))
                return
            if not message.get("more_body", False):
                break
        await self.app(scope, _replaying(held, receive), send)

    def _reason(self, what: str) -> str:
        return (f"request body too large: it {what}; the limit is {self.max_bytes} bytes "
                f"({self.max_bytes // 1024} KiB)")


def _header(scope: Scope, name: bytes) -> str | None:
    """The first value of header ``name`` (lowercase) in ``scope``, or None."""
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return bytes(value).decode("latin-1").strip()
    return None


def _replaying(held: list[Message], receive: Receive) -> Receive:
    """A ``receive`` giving the ``held`` messages first, then whatever ``receive`` gives."""
    queue = list(held)

    async def replay() -> Message:
        if queue:
            return queue.pop(0)
        return await receive()

    return replay


async def _refuse(send: Send, status: int, reason: str) -> None:
    """Answer ``{"error": reason}`` with ``status`` and close the connection."""
    body = json.dumps({"error": reason}).encode()
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
    ]})
    await send({"type": "http.response.body", "body": body})

"""Deprecated paths that keep working for one release, rewritten onto their successors.

Release 0.2 renamed "recommendation" to "intervention" everywhere. A client written for 0.1
keeps working until 0.3: a request to an old path is served by the new route (same permission,
same answer) and the response says so with a ``Deprecation: true`` header and a ``Link`` to the
successor (RFC 8594 style). The table is the documentation: ``scripts/docs`` lists it in
``docs/reference/routes.md``.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import parse_qsl, urlencode

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["LEGACY_PATHS", "LEGACY_QUERY", "LegacyPaths", "adding_headers"]

#: old path prefix -> new path prefix (the rest of the path is kept)
LEGACY_PATHS: dict[str, str] = {
    "/api/recommendations": "/api/interventions",
}
#: (new path, old query parameter) -> new query parameter
LEGACY_QUERY: dict[tuple[str, str], str] = {
    ("/api/labels", "recommendation"): "intervention",
}


def _rewrite_path(path: str) -> str | None:
    for old, new in LEGACY_PATHS.items():
        if path == old or path.startswith(old + "/"):
            return new + path[len(old):]
    return None


def _rewrite_query(path: str, query: bytes) -> bytes | None:
    if not query:
        return None
    pairs = parse_qsl(query.decode("latin-1"), keep_blank_values=True)
    renamed = [(LEGACY_QUERY.get((path, k), k), v) for k, v in pairs]
    return None if renamed == pairs else urlencode(renamed).encode("latin-1")


class LegacyPaths:
    """ASGI middleware serving ``LEGACY_PATHS`` / ``LEGACY_QUERY`` from their successors."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass a request on, its legacy path or query rewritten to the successor's."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = str(scope["path"])
        new_path = _rewrite_path(path)
        query = _rewrite_query(new_path or path, bytes(scope.get("query_string", b"")))
        if new_path is None and query is None:
            await self.app(scope, receive, send)
            return
        scope = dict(scope)
        if new_path is not None:
            scope["path"] = new_path
            scope["raw_path"] = new_path.encode()
        if query is not None:
            scope["query_string"] = query
        successor = new_path or path
        await self.app(scope, receive, adding_headers(send, {
            "deprecation": "true", "link": f'<{successor}>; rel="successor-version"'}))


def adding_headers(send: Send, headers: Mapping[str, str]) -> Send:
    """``send`` with ``headers`` added to the response's start.

    A header the response already sets is left as it set it.
    """

    async def send_with_headers(message: Message) -> None:
        if message["type"] == "http.response.start":
            present = [(k, v) for k, v in message.get("headers", [])]
            names = {k.lower() for k, _ in present}
            present.extend((name.lower().encode(), value.encode())
                           for name, value in headers.items()
                           if name.lower().encode() not in names)
            message["headers"] = present
        await send(message)

    return send_with_headers

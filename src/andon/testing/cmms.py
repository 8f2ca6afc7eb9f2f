"""A tiny but real CMMS on loopback: the Atlas-like work-order API ``andon.sinks.cmms`` uses.

``LocalCmms`` runs a stdlib ``ThreadingHTTPServer`` on 127.0.0.1 in a thread and serves:

- ``GET /work-orders?externalRef=KEY``: the work orders carrying that reference (a list);
- ``POST /work-orders``: create (201 with the work order, ``id`` "WO-1", "WO-2", ...);
- ``GET /work-orders/{id}``: read one (404 if unknown);
- ``PATCH /work-orders/{id}``: change fields.

With a ``token`` it demands ``Authorization: Bearer <token>`` (401 otherwise). A technician's
side is the ``complete`` / ``set_status`` methods; ``fail_next`` makes the next requests answer
with an error status. Every request is kept in ``requests`` (method, path), so a test can count
what the client did. For tests and the demo; not a CMMS to run a plant on.
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

__all__ = ["LocalCmms"]

_PREFIX = "/work-orders"
_STATUSES = frozenset({"OPEN", "IN_PROGRESS", "ON_HOLD", "COMPLETE", "CANCELLED"})


class LocalCmms:
    """An in-process Atlas-like work-order server on 127.0.0.1 (port chosen by the OS)."""

    def __init__(self, token: str | None = None) -> None:
        self.token = token
        self.work_orders: dict[str, dict[str, Any]] = {}
        self.requests: list[tuple[str, str]] = []
        self._failures: list[int] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self.port = int(self._server.server_address[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread: threading.Thread | None = None

    # -- lifecycle ------------------------------------------------------------------------
    def start(self) -> None:
        """Serve in a background thread."""
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,),
                                        daemon=True, name=f"local-cmms-{self.port}")
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(10)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    # -- the technician's side ------------------------------------------------------------
    def complete(self, wo_id: str, note: str = "", by: str = "technician",
                 at: datetime | None = None, outcome: str = "") -> None:
        """Mark a work order COMPLETE with the technician's notes (and what was found)."""
        when = (at or datetime.now(UTC)).isoformat()
        with self._lock:
            wo = self.work_orders[wo_id]
            wo.update(status="COMPLETE", feedback=note, completedBy=by, completedOn=when,
                      updatedAt=when, outcome=outcome)

    def set_status(self, wo_id: str, status: str, note: str = "") -> None:
        """Put a work order in another status (OPEN, IN_PROGRESS, ON_HOLD, CANCELLED...)."""
        with self._lock:
            self.work_orders[wo_id].update(status=status, feedback=note,
                                           updatedAt=datetime.now(UTC).isoformat())

    def fail_next(self, *statuses: int) -> None:
        """Answer the next requests with these HTTP statuses (in order)."""
        with self._lock:
            self._failures.extend(statuses)

    def count(self, method: str, path_prefix: str = _PREFIX) -> int:
        """How many requests of a method (on paths starting with ``path_prefix``) came in."""
        with self._lock:
            return sum(1 for m, p in self.requests if m == method and p.startswith(path_prefix))

    # -- the API --------------------------------------------------------------------------
    def handle(self, method: str, target: str, headers: dict[str, str],
               body: bytes) -> tuple[int, Any]:
        """Answer one request: (status, JSON-ready body)."""
        parts = urlsplit(target)
        with self._lock:
            self.requests.append((method, parts.path))
            if self._failures:
                return self._failures.pop(0), {"error": "injected failure"}
            if self.token is not None and headers.get("authorization") != f"Bearer {self.token}":
                return HTTPStatus.UNAUTHORIZED, {"error": "missing or wrong bearer token"}
            if not parts.path.startswith(_PREFIX):
                return HTTPStatus.NOT_FOUND, {"error": f"no route {parts.path}"}
            rest = parts.path[len(_PREFIX):].strip("/")
            try:
                payload = json.loads(body) if body else {}
            except ValueError:
                return HTTPStatus.BAD_REQUEST, {"error": "body is not JSON"}
            if not rest:
                return self._collection(method, parts.query, payload)
            return self._item(method, rest, payload)

    def _collection(self, method: str, query: str, payload: Any) -> tuple[int, Any]:
        if method == "GET":
            ref = parse_qs(query).get("externalRef", [None])[0]
            found = [wo for wo in self.work_orders.values()
                     if ref is None or wo.get("externalRef") == ref]
            return HTTPStatus.OK, found
        if method == "POST":
            problem = _check(payload, creating=True)
            if problem:
                return HTTPStatus.BAD_REQUEST, {"error": problem}
            wo_id = f"WO-{len(self.work_orders) + 1}"
            now = datetime.now(UTC).isoformat()
            wo = {**payload, "id": wo_id, "status": payload.get("status", "OPEN"),
                  "createdAt": now, "updatedAt": now}
            self.work_orders[wo_id] = wo
            return HTTPStatus.CREATED, wo
        return HTTPStatus.METHOD_NOT_ALLOWED, {"error": f"{method} not allowed"}

    def _item(self, method: str, wo_id: str, payload: Any) -> tuple[int, Any]:
        wo = self.work_orders.get(wo_id)
        if wo is None:
            return HTTPStatus.NOT_FOUND, {"error": f"no work order {wo_id}"}
        if method == "GET":
            return HTTPStatus.OK, wo
        if method == "PATCH":
            problem = _check(payload, creating=False)
            if problem:
                return HTTPStatus.BAD_REQUEST, {"error": problem}
            wo.update(payload, updatedAt=datetime.now(UTC).isoformat())
            return HTTPStatus.OK, wo
        return HTTPStatus.METHOD_NOT_ALLOWED, {"error": f"{method} not allowed"}


def _check(payload: Any, *, creating: bool) -> str:
    if not isinstance(payload, dict):
        return "body must be a JSON object"
    if creating and not payload.get("title"):
        return "title is required"
    status = payload.get("status")
    if status is not None and status not in _STATUSES:
        return f"unknown status {status!r}"
    return ""


def _handler_for(cmms: LocalCmms) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, answer = cmms.handle(self.command, self.path, headers, body)
            data = json.dumps(answer).encode()
            self.send_response(int(status))
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PATCH = _serve  # noqa: N815 - http.server's naming

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib name
            del format, args  # quiet: tests read ``requests`` instead

    return Handler

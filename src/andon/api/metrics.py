"""``GET /metrics`` for Prometheus, and the middleware counting every request for it.

The route needs the ``read`` permission like any reader: Prometheus scrapes with a viewer's
API token (``andon users token LOGIN``) in its ``authorization`` (``credentials_file``) scrape
setting; a scrape without one is a 401 (``docs/operations.md``). What it serves is
``andon.services.metrics``: no label holds a person, a token, a raw path or an asset.

``HttpMetrics`` (pure ASGI) times each HTTP request from its arrival to the last byte of the
answer and counts it by the template of the route that answered (``scope["route"]``), the
mount for a mounted app (``/static/{path}``) or ``(unmatched)``, with its method and status.
It sits inside ``LegacyPaths`` (so a pre-0.2 path counts as the route that served it) and
outside everything else (a 413 of ``BodyLimit`` counts too).
"""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from andon.auth.access import Permission
from andon.http.auth import Caller, needs
from andon.services.metrics import UNMATCHED, Metrics

__all__ = ["HttpMetrics", "metrics_router"]

Reader = Annotated[Caller, Depends(needs(Permission.READ))]


def metrics_router(metrics: Metrics) -> APIRouter:
    """``GET /metrics`` (permission read), rendered from ``metrics``."""
    router = APIRouter(include_in_schema=False)

    @router.get("/metrics")
    async def scrape(request: Request, caller: Reader) -> Response:
        """Serve the metrics in Prometheus' text format (or OpenMetrics, if asked first)."""
        del caller
        body, content_type = await run_in_threadpool(metrics.render,
                                                     request.headers.get("accept"))
        return Response(body, media_type=content_type, headers={"Cache-Control": "no-store"})

    return router


class HttpMetrics:
    """ASGI middleware: ``metrics.observe_request`` for every HTTP request."""

    def __init__(self, app: ASGIApp, *, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on; count it once answered (or failed)."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        base = str(scope.get("root_path", ""))
        status = 500  # unless the answer says otherwise (an exception is a 500 upstream)

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            self.metrics.observe_request(_template(scope, base), str(scope.get("method", "")),
                                         status, time.perf_counter() - start)


def _template(scope: Scope, base: str) -> str:
    """The template of the route that took the request (never the raw path)."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    if isinstance(path, str) and path:
        return path
    mounted = str(scope.get("root_path", ""))
    if scope.get("endpoint") is not None and len(mounted) > len(base):
        return f"{mounted[len(base):]}/{{path}}"
    return UNMATCHED

"""The HTTP surfaces: Andon's JSON API under ``/api`` and the web inbox, in one FastAPI app.

``create_app(store, spec)`` wires them over a ``Store``: interventions and their evidence,
feedback (acted / deferred / dismissed), registered models, the plant spec, API tokens. Good
means: every route resolves the caller from a bearer token or the session cookie and declares
the one permission it needs (only ``GET``/``POST /login``, ``/static`` and the probes
``/healthz`` and ``/readyz`` are public, see ``andon.http.auth``); errors take one shape per
surface, mapped from ``andon.errors`` in one place (``andon.api.errors``); responses are
typed; nothing is loaded from a CDN (the OpenAPI description is at ``/api/openapi.json`` and
the API page at ``/api/docs``, Swagger UI vendored, both for signed-in callers); ``/metrics``
serves Prometheus (``andon.api.metrics``); and tokens and passwords are never logged or
echoed.
"""

from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import fastapi.routing
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from andon import __version__
from andon.api.aliases import LegacyPaths, adding_headers
from andon.api.audit import audit_router
from andon.api.drift import drift_router
from andon.api.edges import edge_router
from andon.api.errors import install_error_handlers, status_for
from andon.api.interventions import interventions_router
from andon.api.kpi import kpi_router
from andon.api.limits import MAX_BODY_BYTES, BodyLimit
from andon.api.metrics import HttpMetrics, metrics_router
from andon.api.openapi import install as install_openapi
from andon.api.probes import probe_router
from andon.api.quality import quality_router
from andon.api.rollout import rollout_router
from andon.api.routes import api_router
from andon.api.trackrecord import track_record_router
from andon.api.triage import triage_router
from andon.api.workorders import work_orders_router
from andon.app.context import Context, PlantRef
from andon.app.users import access_of
from andon.auth.access import Permission
from andon.clock import Clock, SystemClock
from andon.http.auth import PUBLIC_MOUNTS, PUBLIC_ROUTES, Authenticator, route_permissions
from andon.services.metrics import Metrics
from andon.services.readiness import Readiness
from andon.settings import SESSION_TTL
from andon.spec.model import PlantSpec
from andon.store.base import Store
from andon.web import WebInbox
from andon.web.apidocs import api_docs_router
from andon.web.engineering import engineering_router
from andon.web.kpi_page import kpi_page_router
from andon.web.quality_pages import quality_pages_router
from andon.web.reports import reports_router

__all__ = ["PUBLIC_MOUNTS", "PUBLIC_ROUTES", "create_app", "route_table", "security_headers"]

#: the Content-Security-Policy of every response but its ``frame-ancestors``: nothing from
#: another origin, no inline script or style
_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; base-uri 'none'")
#: headers on every response: no third-party content, no framing, no sniffing, no referrer
SECURITY_HEADERS: dict[str, str] = {
    "Content-Security-Policy": f"{_CSP}; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}


def security_headers(frame_ancestors: Sequence[str] = ()) -> dict[str, str]:
    """The security headers, allowing ``frame_ancestors`` (origins) to frame the pages.

    Without origins, nothing may frame a page (``frame-ancestors 'none'`` and
    ``X-Frame-Options: DENY``). With some (checked by the setting ``frame_ancestors``:
    ``scheme://host[:port]``), Andon itself and those may: ``frame-ancestors 'self' <origins>``,
    and no ``X-Frame-Options`` (it cannot name origins; browsers that know CSP ignore it).

    >>> security_headers(["https://hmi.plant.example:8088"])["Content-Security-Policy"][-53:]
    "frame-ancestors 'self' https://hmi.plant.example:8088"
    >>> "X-Frame-Options" in security_headers(["https://hmi.plant.example:8088"])
    False
    """
    if not frame_ancestors:
        return dict(SECURITY_HEADERS)
    headers = {k: v for k, v in SECURITY_HEADERS.items() if k != "X-Frame-Options"}
    headers["Content-Security-Policy"] = (f"{_CSP}; frame-ancestors 'self' "
                                          f"{' '.join(frame_ancestors)}")
    return headers


def create_app(store: Store, spec: PlantSpec, *, clock: Clock | None = None,
               session_ttl_s: float = SESSION_TTL.default,
               models_dir: Path | None = None, trusted_keys: Path | None = None,
               max_body_bytes: int = MAX_BODY_BYTES, metrics: Metrics | None = None,
               readiness: Readiness | None = None,
               frame_ancestors: Sequence[str] = ()) -> FastAPI:
    """Build the Andon HTTP app (JSON API + web inbox) over ``store``, showing ``spec``.

    ``clock`` defaults to the wall clock; ``session_ttl_s`` is how long a browser session
    lasts; ``models_dir`` holds the artifacts edges pull (``andon.api.edges``), verified
    against ``trusted_keys`` before a promotion (without both, promotions are refused). A request
    body over ``max_body_bytes`` is refused with 413 before anything reads it, authentication
    included (``andon.api.limits``); keep it at least ``MAX_SPEC_BYTES``. CSRF tokens
    are keyed by a secret drawn per app: restarting the server makes open forms post a 403
    once (reload the page). ``metrics`` (``GET /metrics``) and ``readiness`` (``GET /readyz``)
    default to the store's alone (``andon serve`` adds its central ingest to both);
    ``frame_ancestors``: origins that may show the pages in a frame (``security_headers``).
    """
    clock = clock or SystemClock()
    metrics = metrics or Metrics(store, clock)
    readiness = readiness or Readiness(store)
    ctx = Context(store, clock, PlantRef(spec), models_dir=models_dir, trusted_keys=trusted_keys)
    auth = Authenticator(store, clock, session_ttl_s=session_ttl_s,  # fresh CSRF secret
                         access=lambda user: access_of(ctx.spec, user))
    web = WebInbox(ctx, auth=auth, status_for=status_for)

    app = FastAPI(
        title="Andon",
        version=__version__,
        summary="Owned actions from industrial AI models, and the feedback on them.",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,  # served by a guarded route: GET /api/openapi.json (READ)
        swagger_ui_oauth2_redirect_url=None,
    )
    app.state.authenticator = auth
    install_error_handlers(app, web.render_error)
    install_openapi(app, lambda: {(m, p): perm for m, p, perm in route_table(app)})
    # first: its fixed paths /api/interventions/overflow and /fatigue must win over the
    # /api/interventions/{intervention_id} pattern (ids are "iv-<hex>", never those words)
    app.include_router(triage_router(ctx))
    app.include_router(api_router(ctx))
    app.include_router(work_orders_router(store))
    app.include_router(quality_router(store))
    app.include_router(track_record_router(ctx))
    app.include_router(kpi_router(ctx))
    app.include_router(drift_router(ctx))
    app.include_router(audit_router(ctx))
    app.include_router(rollout_router(ctx))
    app.include_router(interventions_router(ctx))
    app.include_router(edge_router(ctx, models_dir))
    app.include_router(web.router())
    app.include_router(reports_router(web))
    app.include_router(kpi_page_router(web))
    app.include_router(engineering_router(web))
    app.include_router(quality_pages_router(web))
    app.include_router(api_docs_router(web))
    app.include_router(probe_router(readiness))
    app.include_router(metrics_router(metrics))
    app.mount("/static", web.static_files(), name="static")
    app.add_middleware(BodyLimit, max_bytes=max_body_bytes)  # before routing, so before auth
    app.add_middleware(_SecurityHeaders, headers=security_headers(frame_ancestors))
    app.add_middleware(HttpMetrics, metrics=metrics)  # outside all but the path aliases
    app.add_middleware(LegacyPaths)  # pre-0.2 paths, for one release
    return app


def route_table(app: FastAPI) -> list[tuple[str, str, Permission | None]]:
    """List (method, path, permission) of every route of ``app``; ``None`` marks public ones.

    Walks ``app.routes`` with included routers expanded. A route with no permission that is
    not in ``PUBLIC_ROUTES``, or with more than one, is a wiring bug: ``ValueError``.
    """
    rows: list[tuple[str, str, Permission | None]] = []
    for path, methods, dependant in _api_routes(app):
        found = route_permissions(dependant)
        for method in sorted(methods):
            public = (method, path) in PUBLIC_ROUTES
            if public and not found:
                rows.append((method, path, None))
            elif not public and len(found) == 1:
                rows.append((method, path, found[0]))
            else:
                raise ValueError(f"{method} {path} declares permissions {found}; "
                                 "expected exactly one (or none for a public route)")
    return rows


def _api_routes(app: FastAPI) -> Iterator[tuple[str, set[str], Dependant]]:
    """Yield (path, methods, effective dependant) of every path operation."""
    expand = getattr(fastapi.routing, "iter_route_contexts", None)  # FastAPI >= 0.137.2
    contexts: Iterable[Any] = expand(app.routes) if expand is not None else app.routes
    for ctx in contexts:
        original = getattr(ctx, "original_route", ctx)
        if isinstance(original, APIRoute):
            yield str(ctx.path), set(ctx.methods), ctx.dependant


class _SecurityHeaders:
    """ASGI middleware adding the security headers (``security_headers``) to every response."""

    def __init__(self, app: ASGIApp, *, headers: dict[str, str]) -> None:
        self.app = app
        self.headers = headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        await self.app(scope, receive, adding_headers(send, self.headers))

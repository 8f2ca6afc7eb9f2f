"""Liveness and readiness for service managers and orchestrators: the two routes without a token.

Every other route checks who is calling (``andon.http.auth``); these two are the documented
exception (``PUBLIC_ROUTES``), because a probe (Docker's ``HEALTHCHECK``, Kubernetes, a load
balancer, systemd's watchdog script) has no token. So they say nothing a stranger could use:

- ``GET /healthz``: ``200 {"status": "ok"}`` while the process answers HTTP (liveness).
- ``GET /readyz``: ``200 {"status": "ready", "checks": {"store": "ok"[, "broker": "ok"]}}``
  when the store answers and, where this server runs the central ingest, the ingest is
  subscribed on the broker; else ``503`` with ``"not ready"`` and the failing check as
  ``"down"`` (``andon.services.readiness``; the reason goes to the log).

No version, no host, no URL, no count. The detailed status (open interventions, samples,
models) stays behind a token: ``GET /api/health`` (read).
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from andon.services.readiness import Readiness

__all__ = ["Live", "Ready", "probe_router"]

_NO_STORE = {"Cache-Control": "no-store"}


class Live(BaseModel):
    """The process answers."""

    status: Literal["ok"] = "ok"


class Ready(BaseModel):
    """Whether the server can do its work, check by check."""

    status: Literal["ready", "not ready"]
    checks: dict[str, Literal["ok", "down"]]


def probe_router(readiness: Readiness) -> APIRouter:
    """``GET /healthz`` and ``GET /readyz`` over ``readiness``."""
    router = APIRouter(include_in_schema=False)

    @router.get("/healthz")
    def healthz(response: Response) -> Live:
        """Answer while the process serves HTTP (public: a probe has no token)."""
        response.headers.update(_NO_STORE)
        return Live()

    @router.get("/readyz")
    async def readyz() -> JSONResponse:
        """Say whether the store answers and the ingest listens (public, nothing more)."""
        checks = await run_in_threadpool(readiness.check)
        ready = all(checks.values())
        body = Ready(status="ready" if ready else "not ready",
                     checks={name: "ok" if ok else "down" for name, ok in checks.items()})
        return JSONResponse(body.model_dump(), status_code=200 if ready else 503,
                            headers=_NO_STORE)

    return router

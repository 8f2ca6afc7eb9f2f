"""``GET /api/drift``: whether the production models' inputs moved since their training.

Per use case and watched asset over a period (READ): the same rows as ``andon drift status``
(``andon.app.drift``): each feature's PSI, KS and Wasserstein against the production version's
reference, the features that moved, and why an asset has no figures. Read-only: drift events
are kept by ``andon drift status --record``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from andon.api.trackrecord import query_period
from andon.app import drift_status
from andon.app.context import Context
from andon.auth.access import Permission
from andon.drift.status import PSI_LIMIT
from andon.http.auth import Caller, needs

__all__ = ["DriftOut", "drift_router"]

Reader = Annotated[Caller, Depends(needs(Permission.READ))]
#: the default period: a day before ``until``
DEFAULT_PERIOD = timedelta(hours=24)


class DriftOut(BaseModel):
    """The drift of every watched asset over the period."""

    start: datetime
    end: datetime
    psi_limit: float
    assets: list[dict[str, Any]] = Field(
        description="per use case and asset: model, version, windows, drifted, moved (feature "
        "names, largest PSI first), note (why there are no figures) and features (feature, "
        "unit, windows, psi, ks, wasserstein, reference_mean, current_mean, moved)")


def drift_router(ctx: Context) -> APIRouter:
    """Build the drift route over the context's store, plant spec and models directory."""
    router = APIRouter(prefix="/api", tags=["api"])

    @router.get("/drift", response_model=DriftOut,
                responses={404: {"description": "No such use case"}})
    async def drift(
        caller: Reader,
        use_case: Annotated[str | None, Query(description="only this use case")] = None,
        since: Annotated[datetime | None, Query(description="start (ISO 8601; no offset: "
                                                "UTC); default 24 h before until")] = None,
        until: Annotated[datetime | None, Query(description="end, excluded; default now")]
        = None,
        psi_limit: Annotated[float, Query(ge=0, description="PSI at or above which a feature "
                                          "has moved")] = PSI_LIMIT,
    ) -> DriftOut:
        """Each watched asset's features over the period against its production reference."""
        del caller
        start, end = query_period(since, until, ctx.clock.now(), DEFAULT_PERIOD)
        rows = await run_in_threadpool(drift_status, ctx, start=start, end=end,
                                       use_case=use_case, psi_limit=psi_limit)
        return DriftOut(start=start, end=end, psi_limit=psi_limit,
                        assets=[r.to_dict() for r in rows])

    return router


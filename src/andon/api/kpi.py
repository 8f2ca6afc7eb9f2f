"""``GET /api/kpi``: a line's OEE, downtime, MTBF/MTTR, adoption and ROI, baseline vs after.

READ. The same report as ``andon report kpi`` and the ``/kpi`` page (``andon.kpi.report``
defines every figure): JSON by default, CSV with ``format=csv``. Without periods, after runs
from when a model first went live on the line to now and the baseline is as long before it.
A ratio over nothing is ``null``, never a made-up zero.
"""

from __future__ import annotations

import io
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from starlette.exceptions import HTTPException

from andon.api.trackrecord import as_utc
from andon.app import Actor, kpi_report
from andon.app.context import Context
from andon.auth.access import Permission
from andon.feedback.answers import Via
from andon.http.auth import Caller, needs
from andon.kpi.report import write_csv

__all__ = ["kpi_router"]

Reader = Annotated[Caller, Depends(needs(Permission.READ))]
When = Annotated[datetime | None, Query(description="ISO 8601 (no offset: UTC)")]


def _pair(name: str, since: datetime | None,
          until: datetime | None) -> tuple[datetime, datetime] | None:
    start, end = as_utc(since), as_utc(until)
    if start is None and end is None:
        return None
    if start is None or end is None:
        raise HTTPException(422, f"{name}: give both {name}_since and {name}_until")
    return start, end


def kpi_router(ctx: Context) -> APIRouter:
    """Build the KPI route over the context's store and plant spec."""
    router = APIRouter(prefix="/api", tags=["api"])

    @router.get("/kpi", responses={200: {"content": {"text/csv": {"schema": {
        "type": "string", "description": "with format=csv"}}}}})
    async def kpi(  # noqa: PLR0917
        caller: Reader,
        line: Annotated[str, Query(max_length=200, description="line id (or an asset id: "
                                   "its line)")],
        baseline_since: When = None, baseline_until: When = None,
        after_since: When = None, after_until: When = None,
        fmt: Annotated[Literal["json", "csv"], Query(alias="format")] = "json",
    ) -> Any:
        """A line's KPIs, baseline vs after, and the ROI of the after period.

        OEE (availability, performance, quality), scrap, downtime by reason, MTBF/MTTR and
        adoption per period.
        """
        baseline = _pair("baseline", baseline_since, baseline_until)
        after = _pair("after", after_since, after_until)
        report = await run_in_threadpool(kpi_report, ctx, Actor.of(caller.user, Via.API),
                                         line, baseline=baseline, after=after)
        if fmt == "csv":
            out = io.StringIO()
            write_csv(report, out)
            return Response(out.getvalue(), media_type="text/csv; charset=utf-8")
        return report.to_dict()

    return router

"""``GET /api/track-record``: how often a model version was right, how early, false alarms.

Per line or asset over a period (READ). The same records as ``andon report track-record``
(``andon.kpi.trackrecord`` defines every figure): JSON by default, CSV with ``format=csv``.
A ratio over nothing is ``null`` (an empty CSV cell), never a made-up zero.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException

from andon.app import rollout
from andon.app.context import Context
from andon.auth.access import Permission
from andon.http.auth import Caller, needs
from andon.kpi.trackrecord import TrackRecord, model_ref, write_csv

__all__ = ["TrackRecordOut", "TrackRecordsOut", "as_utc", "query_period", "track_record_router"]

Reader = Annotated[Caller, Depends(needs(Permission.READ))]
#: the default period: four weeks before ``until``
DEFAULT_PERIOD = timedelta(days=28)


class TrackRecordOut(BaseModel):
    """One model version's figures on one line (or asset) over the period."""

    model: str
    version: str
    scope: str = Field(description="line id, or asset id with by=asset")
    mode: Literal["live", "shadow"] = Field(description="live: interventions people saw; "
                                            "shadow: a shadow version's would-be ones")
    start: datetime
    end: datetime
    assets: int = Field(description="watched assets in the scope")
    weeks: float
    raised: int
    confirmed: int
    false_alarms: int
    unresolved: int
    overridden: int = Field(description="live interventions people dismissed")
    detected: int
    missed: int
    found_in_planned_stop: int = Field(description="failures found in a planned stop: "
                                       "neither detected nor missed")
    labelled: int = Field(description="confirmed + false alarms + missed")
    precision: float | None = Field(description="confirmed / (confirmed + false alarms)")
    recall: float | None = Field(description="detected / (detected + missed)")
    false_alarms_per_asset_week: float | None
    override_rate: float | None = Field(description="overridden / raised")
    median_lead_time_h: float | None
    lead_times_h: list[float] = Field(description="every confirmed intervention's lead "
                                      "time, shortest first")

    @classmethod
    def of(cls, r: TrackRecord) -> TrackRecordOut:
        """The JSON shape of a record."""
        return cls.model_validate(r.to_dict())


class TrackRecordsOut(BaseModel):
    """The records of a period, by model, version and scope."""

    start: datetime
    end: datetime
    records: list[TrackRecordOut]


def track_record_router(ctx: Context) -> APIRouter:
    """Build the track-record route over the context's store and plant spec."""
    router = APIRouter(prefix="/api", tags=["api"])

    @router.get("/track-record", response_model=TrackRecordsOut, responses={200: {
        "content": {"text/csv": {"schema": {"type": "string",
                                            "description": "with format=csv"}}}}})
    async def track_record(  # noqa: PLR0917
        caller: Reader,
        model: Annotated[str | None, Query(description="NAME or NAME@VERSION")] = None,
        line: Annotated[list[str] | None, Query(description="only these line ids")] = None,
        by: Annotated[Literal["line", "asset"], Query(description="one record per")] = "line",
        since: Annotated[datetime | None, Query(description="start (ISO 8601; no offset: "
                                                "UTC); default 28 days before until")] = None,
        until: Annotated[datetime | None, Query(description="end, excluded; default now")]
        = None,
        fmt: Annotated[Literal["json", "csv"], Query(alias="format")] = "json",
    ) -> TrackRecordsOut | Response:
        """The track record per model version x line (or asset) over the period.

        Raised, confirmed, false alarms, unresolved, detected, missed, precision, recall,
        false alarms per asset-week, lead times.
        """
        del caller
        start, end = query_period(since, until, ctx.clock.now(), DEFAULT_PERIOD)
        name, version = (None, None) if model is None else model_ref(model)
        records = await run_in_threadpool(
            rollout.track_record, ctx, start=start, end=end, model=name, version=version,
            lines=line or None, by=by)
        if fmt == "csv":
            out = io.StringIO()
            write_csv(records, out)
            return Response(out.getvalue(), media_type="text/csv; charset=utf-8")
        return TrackRecordsOut(start=start, end=end,
                               records=[TrackRecordOut.of(r) for r in records])

    return router


def as_utc(when: datetime | None) -> datetime | None:
    """A query's time in UTC (an offset-less one is UTC); None stays None."""
    if when is None:
        return None
    return when.astimezone(UTC) if when.tzinfo is not None else when.replace(tzinfo=UTC)


def query_period(since: datetime | None, until: datetime | None, now: datetime,
                 default: timedelta) -> tuple[datetime, datetime]:
    """A route's ``since`` / ``until`` as a UTC period (422 if the end is not after the start).

    ``until`` defaults to ``now``, ``since`` to ``default`` before it.
    """
    end = as_utc(until) or now
    start = as_utc(since) or end - default
    if end <= start:
        raise HTTPException(422, f"until {end.isoformat()} is not after since "
                            f"{start.isoformat()}")
    return start, end

"""``GET /api/data-quality``: the data-quality report per tag and per source (READ).

The same report as ``andon dq report`` (``andon.kpi.quality``): per tag the samples
received, missing (and the missing rate), counts per rule and the findings named (stuck sensor,
sudden step, dropout, ...); per source duplicates, late samples and the clock-skew estimate.
Worst first.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Self

from fastapi import APIRouter, Depends, Query
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from andon.auth.access import Permission
from andon.clock import to_ms
from andon.http.auth import Caller, needs
from andon.kpi.quality import QualityReport, SourceQuality, TagQuality, report_from
from andon.store.base import Store

__all__ = ["DataQualityOut", "SourceQualityOut", "TagQualityOut", "quality_router"]

Reader = Annotated[Caller, Depends(needs(Permission.READ))]


class TagQualityOut(BaseModel):
    """One tag's data quality."""

    site: str
    asset: str
    tag: str
    received: int = Field(description="samples recorded")
    missing: int = Field(description="expected samples that never came (from gaps)")
    missing_rate: float = Field(description="missing / (received + missing)")
    counts: dict[str, int] = Field(description="rule code or counter -> count")
    quarantined: dict[str, int] = Field(description="rule -> samples kept out of the store")
    findings: list[str] = Field(description="what is wrong, by name; empty: clean")

    @classmethod
    def of(cls, t: TagQuality) -> Self:
        """The JSON shape of a report row."""
        return cls(site=t.site, asset=t.asset, tag=t.tag, received=t.received,
                   missing=t.missing, missing_rate=round(t.missing_rate, 6),
                   counts=dict(t.counts), quarantined=t.quarantined, findings=list(t.findings))


class SourceQualityOut(BaseModel):
    """One source's data quality and clock skew."""

    source: str
    site: str
    received: int
    duplicates: int = Field(description="samples dropped as duplicates (source, seq)")
    late: int = Field(description="samples later than the lateness (kept, not windowed)")
    corrected: int = Field(description="samples whose source time was corrected for skew")
    skew_s: float | None = Field(description="clock-skew estimate; positive: source ahead")
    correcting: bool = Field(description="source times are being corrected")
    findings: list[str]

    @classmethod
    def of(cls, s: SourceQuality) -> Self:
        """The JSON shape of a report row."""
        return cls(source=s.source, site=s.site, received=s.received, duplicates=s.duplicates,
                   late=s.late, corrected=s.corrected,
                   skew_s=None if s.skew_ms is None else s.skew_ms / 1000,
                   correcting=s.correcting, findings=list(s.findings))


class DataQualityOut(BaseModel):
    """The data-quality report, worst first."""

    since: datetime | None
    tags: list[TagQualityOut]
    sources: list[SourceQualityOut]

    @classmethod
    def of(cls, rep: QualityReport, since: datetime | None, *, all_tags: bool) -> Self:
        """The JSON shape of a report (clean tags only with ``all_tags``)."""
        return cls(since=since,
                   tags=[TagQualityOut.of(t) for t in rep.tags if all_tags or t.findings],
                   sources=[SourceQualityOut.of(s) for s in rep.sources])


def quality_router(store: Store) -> APIRouter:
    """Build the data-quality route over ``store``."""
    router = APIRouter(prefix="/api", tags=["api"])

    @router.get("/data-quality")
    async def data_quality(
        caller: Reader,
        site: Annotated[str | None, Query(description="only this site id")] = None,
        asset: Annotated[str | None, Query(description="only this asset id")] = None,
        since: Annotated[datetime | None, Query(description="counts at or after (ISO 8601; "
                                                "no offset: UTC)")] = None,
        all_tags: Annotated[bool, Query(alias="all", description="list clean tags too")] = False,
    ) -> DataQualityOut:
        """The data-quality report per tag and per source, worst first, findings named."""
        del caller
        if since is not None and since.tzinfo is None:
            since = since.replace(tzinfo=UTC)
        since_ms = None if since is None else to_ms(since)
        rep = await run_in_threadpool(report_from, store, since_ms=since_ms, site=site,
                                      asset=asset)
        return DataQualityOut.of(rep, since, all_tags=all_tags)

    return router

"""``GET /api/audit``, ``GET /api/audit/verify``: the audit trail for an inspector.

Both need ``change_spec`` (the trail names who signed in from where). ``/api/audit`` lists
entries newest first with their chain fields, filtered by kind, subject, actor and period,
paged by ``limit`` and ``offset``; ``/api/audit/verify`` walks the chain and the login rows
(``andon.app.audit``) and names the first break.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel

from andon.api.trackrecord import as_utc
from andon.app import read_trail, verify_trail
from andon.app.context import Actor, Context
from andon.auth.access import Permission
from andon.feedback.answers import Via
from andon.http.auth import Caller, needs

__all__ = ["AuditEntryOut", "AuditVerifyOut", "audit_router"]

Auditor = Annotated[Caller, Depends(needs(Permission.CHANGE_SPEC))]


class AuditEntryOut(BaseModel):
    """One entry of the trail."""

    seq: int | None  # position in the chain; None: written before the chain began
    at: datetime
    kind: str
    subject: str
    detail: str
    by: str
    record_hash: str | None


class AuditVerifyOut(BaseModel):
    """The outcome of walking the trail."""

    ok: bool
    entries: int
    problem: str | None
    broken_at: int | None
    anchors: int
    newest_anchor: int | None
    unchained: int
    records: list[str]


def audit_router(ctx: Context) -> APIRouter:
    """Build the audit routes over the context's store."""
    router = APIRouter(prefix="/api", tags=["api"])

    @router.get("/audit", response_model=list[AuditEntryOut])
    async def audit(
        *,
        caller: Auditor,
        kind: Annotated[str | None, Query(max_length=64)] = None,
        subject: Annotated[str | None, Query(max_length=500)] = None,
        by: Annotated[str | None, Query(max_length=200)] = None,
        since: Annotated[datetime | None, Query(description="from (ISO 8601; no offset: "
                                                "UTC)")] = None,
        until: Annotated[datetime | None, Query(description="before (excluded)")] = None,
        limit: Annotated[int, Query(ge=1, le=10_000)] = 200,
        offset: Annotated[int, Query(ge=0, le=2**62)] = 0,
    ) -> list[AuditEntryOut]:
        """Entries of the audit trail, newest first."""
        events = await run_in_threadpool(
            read_trail, ctx, Actor.of(caller.user, Via.API), kind=kind, subject=subject, by=by,
            since=as_utc(since), until=as_utc(until), limit=limit, offset=offset)
        return [AuditEntryOut(seq=e.seq, at=e.at, kind=str(e.kind), subject=e.subject,
                              detail=e.detail, by=e.by, record_hash=e.record) for e in events]

    @router.get("/audit/verify", response_model=AuditVerifyOut)
    async def audit_verify(caller: Auditor) -> AuditVerifyOut:
        """Walk the whole chain and the login rows; name the first break."""
        report = await run_in_threadpool(verify_trail, ctx, Actor.of(caller.user, Via.API),
                                         keys_dir=ctx.trusted_keys)
        c = report.chain
        return AuditVerifyOut(ok=report.ok, entries=c.entries, problem=c.problem,
                              broken_at=c.broken_at, anchors=c.anchors,
                              newest_anchor=c.newest_anchor, unchained=report.unchained,
                              records=list(report.record_problems))

    return router

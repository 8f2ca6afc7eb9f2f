"""The triage and alert-fatigue routes under ``/api``.

``GET /api/triage`` lists detections held back for a reviewer (low confidence or out of the
model's training distribution) with their evidence; ``POST /api/triage/{id}/label`` records a
reviewer's verdict (``real_problem`` / ``normal`` / ``unsure``) with who, role, when and a
note (permission ``review``: engineer access). ``GET /api/interventions/overflow`` shows each
operator position's overflow queue (interventions held back by the rate limit), and
``GET /api/interventions/fatigue`` the gate's counters per position (delivered, deduplicated,
suppressed in planned downtime, shelved, queued, held, triage) and its flood events.
"""

from datetime import UTC, datetime
from typing import Annotated, Self

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field

from andon.api.schemas import StoredId
from andon.app.context import Actor, Context
from andon.app.triage import label_triage as label_item
from andon.auth.access import Permission
from andon.feedback.answers import Via
from andon.http.auth import Caller, needs
from andon.interventions.fatigue import Verdict
from andon.interventions.gate import Queued
from andon.interventions.gate import overflow as overflow_queues
from andon.interventions.triage import (
    TriageItem,
    TriageLabel,
    TriageStatus,
    TriageVerdict,
)
from andon.interventions.wire import WhyDoc
from andon.store.base import Store

__all__ = ["triage_router"]

Reader = Annotated[Caller, Depends(needs(Permission.READ))]
Reviewer = Annotated[Caller, Depends(needs(Permission.REVIEW))]


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class TriageLabelOut(_Out):
    """A reviewer's verdict with its provenance."""

    verdict: TriageVerdict
    by: str
    role: str
    at: datetime
    note: str

    @classmethod
    def of(cls, label: TriageLabel) -> Self:
        """Describe a label."""
        return cls(verdict=label.verdict, by=label.by, role=label.role, at=label.at,
                   note=label.note)


class TriageOut(_Out):
    """A detection held for a reviewer: why, the evidence, and the latest label."""

    id: int
    use_case: str
    site: str
    line: str
    asset: str
    reasons: list[str] = Field(description="low_confidence and/or out_of_distribution")
    score: float
    threshold: float
    confidence: float = Field(description="score / threshold; below the use case's floor "
                                          "means not confident")
    model: str
    model_version: str
    window_end: datetime
    why: list[WhyDoc]
    detections: int = Field(description="windows folded into the item while it was open")
    status: TriageStatus
    created_at: datetime
    updated_at: datetime
    label: TriageLabelOut | None
    labels: list[TriageLabelOut] | None = Field(
        default=None, description="every label, oldest first (single-item responses)")

    @classmethod
    def of(cls, item: TriageItem, labels: list[TriageLabel] | None = None) -> Self:
        """Describe a triage item (with its label history when given)."""
        return cls(
            id=item.id, use_case=item.use_case, site=item.site, line=item.line,
            asset=item.asset, reasons=[r.value for r in item.reasons], score=item.score,
            threshold=item.threshold, confidence=item.confidence, model=item.model,
            model_version=item.model_version, window_end=item.window_end,
            why=[WhyDoc.of(c) for c in item.why], detections=item.detections,
            status=item.status, created_at=item.created_at, updated_at=item.updated_at,
            label=None if item.label is None else TriageLabelOut.of(item.label),
            labels=None if labels is None else [TriageLabelOut.of(lb) for lb in labels],
        )


class TriageLabelIn(BaseModel):
    """A reviewer's verdict on a triage item."""

    model_config = ConfigDict(extra="forbid")

    verdict: TriageVerdict
    note: str = Field(default="", max_length=2000)


class QueuedOut(_Out):
    """An intervention waiting in its position's overflow queue."""

    position: str
    id: str
    use_case: str
    asset: str
    action: str
    detections: int
    queued_at: datetime
    waiting_s: float

    @classmethod
    def of(cls, item: Queued, now: datetime) -> Self:
        """Describe a queued intervention as of ``now``."""
        iv = item.iv
        return cls(position=item.position, id=iv.id, use_case=iv.use_case, asset=iv.asset,
                   action=iv.action, detections=iv.detections, queued_at=item.queued_at,
                   waiting_s=max(0.0, (now - item.queued_at).total_seconds()))


class FatigueOut(_Out):
    """The gate's counters of one operator position."""

    position: str
    counts: dict[str, int] = Field(description="gate decisions by verdict")
    queued_now: int
    floods: int = Field(description="times the position entered flood")


def triage_router(ctx: Context) -> APIRouter:
    """Build the triage, overflow and fatigue-counter routes over ``ctx``."""
    router = APIRouter(prefix="/api", tags=["api"])
    store = ctx.store

    @router.get("/triage")
    def list_triage(
        caller: Reader,
        status: Annotated[TriageStatus | None, Query(description="open or labelled")] = None,
        limit: Annotated[int, Query(ge=1, le=10_000)] = 200,
    ) -> list[TriageOut]:
        """List triage items, newest first."""
        del caller
        return [TriageOut.of(i) for i in store.list_triage(status=status, limit=limit)]

    @router.get("/triage/{item_id}")
    def get_triage(item_id: StoredId, caller: Reader) -> TriageOut:
        """One triage item with its evidence and every label given on it."""
        del caller
        return TriageOut.of(store.get_triage(item_id), store.triage_labels(item_id))

    @router.post("/triage/{item_id}/label", status_code=201)
    def label_triage(item_id: StoredId, body: TriageLabelIn, caller: Reviewer) -> TriageOut:
        """Label a triage item real_problem / normal / unsure; kept with who, role and when."""
        item = label_item(ctx, Actor.of(caller.user, Via.API), item_id, body.verdict,
                          body.note).record
        return TriageOut.of(item, store.triage_labels(item_id))

    @router.get("/interventions/overflow")
    def overflow(caller: Reader) -> dict[str, list[QueuedOut]]:
        """Each operator position's overflow queue, oldest first."""
        del caller
        now = ctx.clock.now()
        return {position: [QueuedOut.of(item, now) for item in items]
                for position, items in overflow_queues(store).items()}

    @router.get("/interventions/fatigue")
    def fatigue(
        caller: Reader,
        since: Annotated[datetime | None, Query(description="after this (ISO 8601)")] = None,
    ) -> list[FatigueOut]:
        """Gate counters per operator position: by verdict, queued now, floods."""
        del caller
        if since is not None and since.tzinfo is None:
            since = since.replace(tzinfo=UTC)
        return _fatigue_counters(store, since)

    return router


def _fatigue_counters(store: Store, since: datetime | None) -> list[FatigueOut]:
    counts: dict[str, dict[str, int]] = {}
    for (position, verdict), n in store.gate_counts(since=since).items():
        counts.setdefault(position, _zeros())[verdict] = n
    queued = {position: len(items) for position, items in overflow_queues(store).items()}
    floods: dict[str, int] = {}
    for event in store.events(kind="fatigue_flood", limit=100_000):
        if since is None or event.at > since:
            floods[event.subject] = floods.get(event.subject, 0) + 1
    return [FatigueOut(position=p, counts=counts.get(p, _zeros()),
                       queued_now=queued.get(p, 0), floods=floods.get(p, 0))
            for p in sorted({*counts, *queued, *floods})]


def _zeros() -> dict[str, int]:
    return dict.fromkeys((v.value for v in Verdict), 0)

"""The intervention routes under ``/api``: lifecycle moves, outcomes and labels.

``POST /api/interventions/{id}/transition`` moves an intervention (acknowledge, start, done,
defer, dismiss, shelve...); an illegal move is refused with 409 and the lifecycle's one-line
reason. ``POST /api/interventions/{id}/outcome`` records what was found once the action is
done (or on a dismissed one). ``GET /api/labels`` lists every feedback and outcome as labels
tied to the evidence window. ``GET`` / ``POST /api/interventions/{id}/comments`` read and write
the notes on an intervention (``andon.app.console``); ``InterventionList`` is the query string
of ``GET /api/interventions`` (the console's scope, filters, search and order).
"""

from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from andon.api.schemas import (
    InterventionOut,
    OutcomeIn,
    OutcomeResult,
    TransitionIn,
    TransitionOut,
    TransitionResult,
)
from andon.app import Actor, Context, comment_on, find_interventions, move, record_outcome
from andon.auth.access import Permission
from andon.feedback.answers import Via
from andon.feedback.comments import MAX_COMMENT
from andon.feedback.labels import Label
from andon.http.auth import Caller, needs
from andon.interventions.lifecycle import InterventionState, Priority
from andon.interventions.query import InterventionQuery, SortKey

__all__ = ["CommentIn", "CommentOut", "InterventionList", "interventions_router"]


class InterventionList(BaseModel):
    """The query string of ``GET /api/interventions``: scope, side, filters, search, order."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    scope: Literal["mine", "all"] = Field(
        default="mine", description="mine: the caller's sites, lines and roles (a login that "
        "is no person of the spec: everything); all: everything (engineers and admins)")
    include_closed: bool = Field(default=False, alias="all",
                                 description="include done, dismissed and expired")
    closed: bool = Field(default=False, description="only done, dismissed and expired")
    priority: list[Priority] = Field(default_factory=list, description="any of these")
    state: list[InterventionState] = Field(default_factory=list, description="any of these")
    asset: list[Annotated[str, Field(max_length=200)]] = Field(default_factory=list)
    line: list[Annotated[str, Field(max_length=200)]] = Field(default_factory=list)
    since: datetime | None = Field(default=None, description="raised at or after (ISO 8601)")
    until: datetime | None = Field(default=None, description="raised before (ISO 8601)")
    q: str = Field(default="", max_length=200,
                   description="text in the id, asset, action, outcome or a comment")
    sort: SortKey = SortKey.NEWEST
    order: Literal["asc", "desc"] = "asc"
    offset: int = Field(default=0, ge=0, le=1_000_000)
    limit: int = Field(default=200, ge=1, le=1000)

    def to_query(self) -> InterventionQuery:
        """The ``InterventionQuery`` this asks for (times without offset are UTC)."""

        def utc(t: datetime | None) -> datetime | None:
            return t if t is None or t.tzinfo is not None else t.replace(tzinfo=UTC)

        return InterventionQuery(
            closed=True if self.closed else (None if self.include_closed else False),
            priorities=frozenset(self.priority), states=frozenset(self.state),
            assets=frozenset(self.asset), lines=frozenset(self.line),
            raised_after=utc(self.since), raised_before=utc(self.until), text=self.q,
            sort=self.sort, descending=self.order == "desc", limit=self.limit,
            offset=self.offset)


class CommentIn(BaseModel):
    """A note on an intervention."""

    model_config = ConfigDict(extra="forbid")

    body: str = Field(min_length=1, max_length=MAX_COMMENT * 2,
                      description=f"the text (trimmed; at most {MAX_COMMENT} characters kept)")


class CommentOut(BaseModel):
    """A note on an intervention, as stored."""

    id: int
    intervention_id: str
    body: str
    by: str
    at: datetime
    via: str

Reader = Annotated[Caller, Depends(needs(Permission.READ))]
Giver = Annotated[Caller, Depends(needs(Permission.FEEDBACK))]


def interventions_router(ctx: Context) -> APIRouter:
    """Build the lifecycle, outcome and label routes over ``ctx``."""
    router = APIRouter(prefix="/api", tags=["api"])
    store = ctx.store

    @router.post("/interventions/{intervention_id}/transition")
    def transition(intervention_id: str, body: TransitionIn, caller: Giver) -> TransitionResult:
        """Move an intervention to ``to`` (409 with the reason if the lifecycle refuses)."""
        until = body.shelve_until
        if until is not None and until.tzinfo is None:
            until = until.replace(tzinfo=UTC)  # a time without offset is read as UTC
        done = move(ctx, Actor.of(caller.user, Via.API), intervention_id, body.to,
                    reason=body.reason, shelve_until=until)
        return TransitionResult(transition=TransitionOut.model_validate(done.move.to_dict()),
                                intervention=InterventionOut.of(done.record))

    @router.post("/interventions/{intervention_id}/outcome", status_code=201)
    def outcome(intervention_id: str, body: OutcomeIn, caller: Giver) -> OutcomeResult:
        """Record what was found: fault_confirmed / no_fault / unsure and free text."""
        done = record_outcome(ctx, Actor.of(caller.user, Via.API), intervention_id,
                              body.label, body.detail)
        assert done.label is not None  # noqa: S101 - record_outcome always returns its label
        return OutcomeResult(label=done.label,
                             intervention=InterventionOut.of(done.record))

    @router.get("/interventions")
    def list_interventions(caller: Reader, query: Annotated[InterventionList, Query()],
                           response: Response) -> list[InterventionOut]:
        """List interventions in the caller's scope, newest first unless sorted otherwise.

        Open ones unless ``all=true`` (closed too) or ``closed=true`` (only closed); filters as
        the console's (``andon.app.console``); ``X-Total-Count`` says how many match in all.
        """
        found = find_interventions(ctx, Actor.of(caller.user, Via.API), query.to_query(),
                                   everyone=query.scope == "all")
        response.headers["X-Total-Count"] = str(found.page.total)
        return [InterventionOut.of(r) for r in found.page.items]

    @router.get("/interventions/{intervention_id}/comments")
    def list_comments(intervention_id: str, caller: Reader) -> list[CommentOut]:
        """List the comments on an intervention, oldest first (404 if unknown)."""
        del caller
        store.get_intervention(intervention_id)
        return [CommentOut(id=c.id or 0, intervention_id=c.intervention_id, body=c.body,
                           by=c.by, at=c.at, via=c.via)
                for c in store.comments([intervention_id]).get(intervention_id, [])]

    @router.post("/interventions/{intervention_id}/comments", status_code=201)
    def add_comment(intervention_id: str, body: CommentIn, caller: Giver) -> CommentOut:
        """Write a note on an intervention (422 if empty or too long, 404 if unknown)."""
        c = comment_on(ctx, Actor.of(caller.user, Via.API), intervention_id, body.body).record
        return CommentOut(id=c.id or 0, intervention_id=c.intervention_id, body=c.body,
                          by=c.by, at=c.at, via=c.via)

    @router.get("/labels")
    def list_labels(
        caller: Reader,
        since: Annotated[datetime | None, Query(description="at or after (ISO 8601)")] = None,
        intervention: Annotated[str | None, Query(description="only this id")] = None,
        limit: Annotated[int, Query(ge=1, le=100_000)] = 10_000,
    ) -> list[Label]:
        """List labels (every feedback and outcome), oldest first."""
        del caller
        if since is not None and since.tzinfo is None:
            since = since.replace(tzinfo=UTC)
        return store.labels(intervention_id=intervention, since=since, limit=limit)

    return router

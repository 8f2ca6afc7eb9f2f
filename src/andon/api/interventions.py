"""The intervention routes under ``/api``: lifecycle moves, outcomes and labels.

``POST /api/interventions/{id}/transition`` moves an intervention (acknowledge, start, done,
defer, dismiss, shelve...); an illegal move is refused with 409 and the lifecycle's one-line
reason. ``POST /api/interventions/{id}/outcome`` records what was found once the action is
done (or on a dismissed one). ``GET /api/labels`` lists every feedback and outcome as labels
tied to the evidence window.
"""

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from andon.api.schemas import (
    InterventionOut,
    OutcomeIn,
    OutcomeResult,
    TransitionIn,
    TransitionOut,
    TransitionResult,
)
from andon.app import Actor, Context, move, record_outcome
from andon.auth.access import Permission
from andon.feedback.answers import Via
from andon.feedback.labels import Label
from andon.http.auth import Caller, needs

__all__ = ["interventions_router"]

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

"""Answering interventions: lifecycle moves, feedback and outcomes, on every surface alike.

Each function checks the actor's permission (``feedback``), applies the rule through the store
(which reads, checks and writes the record under its write lock, so two concurrent answers
cannot both close it), writes one event and returns the record as it now is. Refusals are the
domain's one-line errors: ``NotFound``, ``LifecycleError``, ``FeedbackError``, ``Forbidden``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from andon.audit import Event, EventKind
from andon.auth.access import Permission
from andon.feedback.answers import Feedback, FeedbackKind
from andon.feedback.outcomes import Outcome
from andon.interventions.lifecycle import InterventionState, TransitionRecord
from andon.interventions.record import Intervention, OutcomeLabel

if TYPE_CHECKING:
    from andon.app.context import Actor, Context
    from andon.feedback.labels import Label

__all__ = ["Answered", "Moved", "give_feedback", "move", "record_outcome"]


@dataclass(frozen=True, slots=True)
class Moved:
    """A lifecycle move made: the record now, the move, the events written."""

    record: Intervention
    move: TransitionRecord
    events: tuple[Event, ...]


@dataclass(frozen=True, slots=True)
class Answered:
    """An answer kept: the record now, the feedback or the outcome's label, the events."""

    record: Intervention
    events: tuple[Event, ...]
    feedback: Feedback | None = None
    label: Label | None = None


def move(ctx: Context, actor: Actor, intervention_id: str, target: InterventionState | str, *,
         reason: str = "", shelve_until: datetime | None = None) -> Moved:
    """Move an intervention (acknowledge, start, done, defer, dismiss, shelve, unshelve).

    A move into done / deferred / dismissed is feedback too (kept as feedback and a label).
    ``NotFound`` for an unknown id; ``LifecycleError`` (naming both states and the legal ones)
    if the lifecycle refuses it.
    """
    actor.require(Permission.FEEDBACK)
    record, made = ctx.store.transition_intervention(
        intervention_id, target, by=actor.name, at=ctx.clock.now(), reason=reason.strip(),
        shelve_until=shelve_until, via=actor.via.value)
    detail = f"{made.from_state} -> {made.to_state}" + (f": {made.reason}"
                                                        if made.reason else "")
    event = Event(EventKind.TRANSITION, intervention_id, detail, made.at, actor.name)
    ctx.store.add_event(event)
    return Moved(record, made, (event,))


def give_feedback(ctx: Context, actor: Actor, intervention_id: str, kind: FeedbackKind | str,
                  reason: str = "") -> Answered:
    """Answer an intervention acted / deferred / dismissed (reason required but for acted).

    ``NotFound`` before anything is written for an unknown id; ``FeedbackError`` for a closed
    intervention or a missing reason; ``LifecycleError`` for a move the lifecycle refuses.
    """
    actor.require(Permission.FEEDBACK)
    ctx.store.get_intervention(intervention_id)  # NotFound before anything is written
    fb = Feedback(intervention_id=intervention_id, kind=FeedbackKind(kind),
                  reason=reason.strip(), by=actor.name, at=ctx.clock.now(),
                  via=actor.via.value)
    record = ctx.store.record_feedback(fb)
    detail = fb.kind.value + (f": {fb.reason}" if fb.reason else "")
    event = Event(EventKind.FEEDBACK, intervention_id, detail, fb.at, actor.name)
    ctx.store.add_event(event)
    return Answered(record, (event,), feedback=fb)


def record_outcome(ctx: Context, actor: Actor, intervention_id: str,
                   label: OutcomeLabel | str, detail: str = "") -> Answered:
    """Record what was found (fault confirmed / no fault / unsure) once the action is done.

    ``FeedbackError`` while the intervention is not done, dismissed or expired.
    """
    actor.require(Permission.FEEDBACK)
    outcome = Outcome(intervention_id=intervention_id, label=OutcomeLabel(label),
                      detail=detail.strip(), by=actor.name, at=ctx.clock.now(),
                      via=actor.via.value)
    record, stored = ctx.store.record_outcome(outcome)
    text = outcome.label.value + (f": {outcome.detail}" if outcome.detail else "")
    event = Event(EventKind.OUTCOME, intervention_id, text, outcome.at, actor.name)
    ctx.store.add_event(event)
    return Answered(record, (event,), label=stored)

"""Answers: what the owner of an intervention said about it (acted / deferred / dismissed).

A ``Feedback`` is the older, coarser way to answer an intervention; ``apply_feedback`` maps it
onto lifecycle moves (``andon.interventions.lifecycle``), acknowledging first when nobody had.
A lifecycle move into done / deferred / dismissed is feedback too (``feedback_for_move``), so
the inbox buttons, the API's ``transition`` and a CMMS completion all leave the same record.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from andon.errors import FeedbackError
from andon.interventions.lifecycle import InterventionState, TransitionRecord
from andon.interventions.record import Intervention, move

__all__ = ["FEEDBACK_STATE", "Feedback", "FeedbackKind", "Via", "apply_feedback",
           "feedback_for_move"]


class FeedbackKind(StrEnum):
    """What the owner said about an intervention (mapped onto lifecycle moves)."""

    ACTED = "acted"  # -> done (acknowledged first if nobody had)
    DEFERRED = "deferred"  # -> deferred (acknowledged first if nobody had); reason required
    DISMISSED = "dismissed"  # -> dismissed; reason required


class Via(StrEnum):
    """Through which surface an answer came."""

    WEB = "web"
    API = "api"
    MQTT = "mqtt"
    CMMS = "cmms"
    CLI = "cli"
    SYSTEM = "system"  # Andon itself (escalation, shelving expiry)


#: lifecycle state each feedback kind ends in
FEEDBACK_STATE = {
    FeedbackKind.ACTED: InterventionState.DONE,
    FeedbackKind.DEFERRED: InterventionState.DEFERRED,
    FeedbackKind.DISMISSED: InterventionState.DISMISSED,
}
#: feedback kind a move into these states stands for (a move there is feedback, and a label)
_STATE_FEEDBACK = {state: kind for kind, state in FEEDBACK_STATE.items()}


@dataclass(frozen=True, slots=True)
class Feedback:
    """What someone said about an intervention; becomes a training label."""

    intervention_id: str
    kind: FeedbackKind
    reason: str
    by: str
    at: datetime
    via: str = Via.API.value  # web / api / mqtt / cmms / cli


def feedback_for_move(intervention_id: str, record: TransitionRecord,
                      via: str) -> Feedback | None:
    """The feedback a lifecycle move stands for (done / deferred / dismissed), or None."""
    kind = _STATE_FEEDBACK.get(record.to_state)
    if kind is None:
        return None
    return Feedback(intervention_id, kind, record.reason, record.by, record.at, via)


def apply_feedback(iv: Intervention, fb: Feedback) -> Intervention:
    """The intervention after ``fb`` (the moves it made are the new end of its history).

    ``acted`` → done and ``deferred`` → deferred acknowledge first when nobody had (new or
    escalated; a shelved one is unshelved first), recorded as separate moves by the same
    person at the same instant; ``dismissed`` needs a reason. Refuses feedback on closed items
    or for another record (``FeedbackError``) and illegal moves (``LifecycleError``).
    """
    if fb.intervention_id != iv.id:
        raise FeedbackError(f"feedback for {fb.intervention_id} applied to {iv.id}")
    if not iv.is_open:
        raise FeedbackError(
            f"intervention {iv.id} is already {iv.state.value}; it takes no more feedback",
        )
    kind = FeedbackKind(fb.kind)
    if kind is not FeedbackKind.ACTED and not fb.reason.strip():
        verb = "dismissing" if kind is FeedbackKind.DISMISSED else "deferring"
        raise FeedbackError(f"{verb} intervention {iv.id} needs a reason")
    target = FEEDBACK_STATE[kind]
    current = iv
    if target is not InterventionState.DISMISSED:
        if current.state is InterventionState.SHELVED:
            back = current.lifecycle.shelved_from
            if back is not None:
                current, _ = move(current, back, by=fb.by, at=fb.at, reason="unshelved to answer")
        if current.state in {InterventionState.NEW, InterventionState.ESCALATED}:
            current, _ = move(current, InterventionState.ACKNOWLEDGED, by=fb.by, at=fb.at,
                              reason=f"acknowledged with feedback {kind.value}")
    current, _ = move(current, target, by=fb.by, at=fb.at, reason=fb.reason)
    return current

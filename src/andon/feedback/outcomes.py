"""Outcomes: what was found once the action was done (or on a dismissed intervention)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from andon.errors import FeedbackError
from andon.feedback.answers import Via
from andon.interventions.lifecycle import InterventionState
from andon.interventions.record import Intervention, OutcomeLabel

__all__ = ["OUTCOME_STATES", "Outcome", "OutcomeLabel", "apply_outcome"]

#: states an outcome may be given in: after the action, or on a dismissed or expired one
OUTCOME_STATES = frozenset({InterventionState.DONE, InterventionState.DISMISSED,
                            InterventionState.EXPIRED})


@dataclass(frozen=True, slots=True)
class Outcome:
    """What was found after the action (or on a dismissed intervention)."""

    intervention_id: str
    label: OutcomeLabel
    detail: str
    by: str
    at: datetime
    via: str = Via.API.value


def apply_outcome(iv: Intervention, outcome: Outcome) -> Intervention:
    """The intervention with ``outcome`` recorded; ``FeedbackError`` when it is too early.

    An outcome is told once the action is done, or on a dismissed or expired intervention; a
    later outcome replaces an earlier one on the record (both stay as labels).
    """
    if outcome.intervention_id != iv.id:
        raise FeedbackError(f"outcome for {outcome.intervention_id} applied to {iv.id}")
    label = OutcomeLabel(outcome.label)
    if iv.state not in OUTCOME_STATES:
        allowed = ", ".join(sorted(s.value for s in OUTCOME_STATES))
        raise FeedbackError(f"intervention {iv.id} is {iv.state.value}; an outcome is "
                            f"told once it is {allowed}")
    return replace(iv, outcome=label, outcome_detail=outcome.detail.strip(),
                   updated_at=max(iv.updated_at, outcome.at))

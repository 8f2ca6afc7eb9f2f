"""Interventions: a score above threshold becomes a concrete, owned, time-bounded action.

Good means: the intervention names the asset, says what to do and by when (the line's next
planned stop before the predicted failure, or now), who owns it, how urgent it is and why the
model thinks so; repeated detections of the same problem update one open intervention instead
of flooding the inbox; every move of its lifecycle (acknowledged, in progress, done, deferred,
dismissed, shelved, escalated, expired) records who, when and why; nobody's silence lets it
rot (escalation up a chain of roles); and every answer and outcome is kept as a label tied to
the evidence window.
"""

from andon.interventions.decide import Decider, Detection
from andon.interventions.lifecycle import InterventionState, Priority, TransitionRecord
from andon.interventions.record import (
    Contribution,
    Feedback,
    FeedbackKind,
    Intervention,
    Label,
    Outcome,
    OutcomeLabel,
    apply_feedback,
    apply_outcome,
    intervention_document,
    render_action,
)

__all__ = [
    "Contribution",
    "Decider",
    "Detection",
    "Feedback",
    "FeedbackKind",
    "Intervention",
    "InterventionState",
    "Label",
    "Outcome",
    "OutcomeLabel",
    "Priority",
    "TransitionRecord",
    "apply_feedback",
    "apply_outcome",
    "intervention_document",
    "render_action",
]

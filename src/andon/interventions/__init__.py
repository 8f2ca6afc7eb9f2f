"""Interventions: a score above threshold becomes a concrete, owned, time-bounded action.

Good means: the intervention names the asset, says what to do and by when (the line's next
planned stop before the predicted failure, or now), who owns it, how urgent it is and why the
model thinks so; repeated detections of the same problem update one open intervention instead
of flooding the inbox; every move of its lifecycle (acknowledged, in progress, done, deferred,
dismissed, shelved, escalated, expired) records who, when and why; nobody's silence lets it
rot (escalation up a chain of roles). What people answer and find is ``andon.feedback``.
"""

from andon.interventions.decide import Decider, Detection
from andon.interventions.lifecycle import InterventionState, Priority, TransitionRecord
from andon.interventions.record import Contribution, Intervention, OutcomeLabel, render_action
from andon.interventions.wire import intervention_document

__all__ = [
    "Contribution",
    "Decider",
    "Detection",
    "Intervention",
    "InterventionState",
    "OutcomeLabel",
    "Priority",
    "TransitionRecord",
    "intervention_document",
    "render_action",
]

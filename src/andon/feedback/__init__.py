"""Feedback: what people said about an intervention and what they found, kept as labels.

Answers (acted / deferred / dismissed), outcomes (fault confirmed / no fault / unsure) and the
work orders a CMMS reports all end as ``Label`` rows tied to the evidence window that raised
the intervention: the training data of the next model and the facts of its track record.
Good means: every answer is applied by the same rules whatever surface it came through (inbox,
API, MQTT panel, CMMS, CLI), refused with a one-line reason when it breaks one, and never lost.
"""

from andon.feedback.answers import (
    FEEDBACK_STATE,
    Feedback,
    FeedbackKind,
    Via,
    apply_feedback,
    feedback_for_move,
)
from andon.feedback.labels import Label, feedback_label, outcome_label
from andon.feedback.outcomes import OUTCOME_STATES, Outcome, OutcomeLabel, apply_outcome

__all__ = [
    "FEEDBACK_STATE",
    "OUTCOME_STATES",
    "Feedback",
    "FeedbackKind",
    "Label",
    "Outcome",
    "OutcomeLabel",
    "Via",
    "apply_feedback",
    "apply_outcome",
    "feedback_for_move",
    "feedback_label",
    "outcome_label",
]

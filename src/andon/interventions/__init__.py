"""Interventions: a score above threshold becomes a concrete, owned, time-bounded action.

Good means: the recommendation names the asset, says what to do and by when (the line's next
planned stop before the predicted failure, or now), who owns it and why the model thinks so;
repeated detections of the same problem update one open recommendation instead of flooding the
inbox; and feedback (acted / deferred / dismissed with a reason) is kept as a label.
"""

from andon.interventions.decide import Decider, Detection
from andon.interventions.recommendation import (
    Contribution,
    Feedback,
    FeedbackKind,
    Recommendation,
    RecStatus,
    apply_feedback,
    recommendation_document,
    render_action,
)

__all__ = [
    "Contribution",
    "Decider",
    "Detection",
    "Feedback",
    "FeedbackKind",
    "RecStatus",
    "Recommendation",
    "apply_feedback",
    "recommendation_document",
    "render_action",
]

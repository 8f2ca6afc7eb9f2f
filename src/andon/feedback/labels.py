"""Labels: every answer and outcome, tied to the evidence window, for training and the record.

A label is what Andon learns from: the intervention's evidence window (the data that raised
it), the model and version that scored it, and what a person said (``feedback``: acted /
deferred / dismissed, with the reason) or found (``outcome``: fault confirmed / no fault /
unsure, with what was found). ``andon labels export`` and ``GET /api/labels`` read them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from andon.feedback.answers import Feedback, FeedbackKind
from andon.feedback.outcomes import Outcome
from andon.interventions.record import Intervention, OutcomeLabel

__all__ = ["Label", "feedback_label", "outcome_label"]


@dataclass(frozen=True, slots=True)
class Label:
    """One label for training and the track record: an answer tied to the evidence window.

    ``kind`` is ``feedback`` (label acted / deferred / dismissed) or ``outcome`` (label
    fault_confirmed / no_fault / unsure); ``detail`` is the reason or what was found.
    """

    intervention_id: str
    asset: str
    use_case: str
    model: str
    model_version: str
    window_start: datetime
    window_end: datetime
    kind: str
    label: str
    detail: str
    by: str
    at: datetime
    via: str
    id: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields (ISO datetimes), in export column order."""
        return {
            "id": self.id, "intervention_id": self.intervention_id, "asset": self.asset,
            "use_case": self.use_case, "model": self.model, "model_version": self.model_version,
            "window_start": self.window_start.isoformat(),
            "window_end": self.window_end.isoformat(), "kind": self.kind, "label": self.label,
            "detail": self.detail, "by": self.by, "at": self.at.isoformat(), "via": self.via,
        }


def feedback_label(iv: Intervention, fb: Feedback) -> Label:
    """The label a feedback on ``iv`` becomes."""
    start, end = iv.evidence_window
    return Label(iv.id, iv.asset, iv.use_case, iv.model, iv.model_version, start, end,
                 "feedback", FeedbackKind(fb.kind).value, fb.reason, fb.by, fb.at, str(fb.via))


def outcome_label(iv: Intervention, outcome: Outcome) -> Label:
    """The label an outcome on ``iv`` becomes."""
    start, end = iv.evidence_window
    return Label(iv.id, iv.asset, iv.use_case, iv.model, iv.model_version, start, end,
                 "outcome", OutcomeLabel(outcome.label).value, outcome.detail.strip(),
                 outcome.by, outcome.at, str(outcome.via))

"""The recommendation record, its status lifecycle and feedback."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from andon.errors import FeedbackError
from andon.scoring.contribution import Contribution

__all__ = [
    "Contribution",
    "Feedback",
    "FeedbackKind",
    "RecStatus",
    "Recommendation",
    "apply_feedback",
    "recommendation_document",
    "render_action",
]


class RecStatus(StrEnum):
    """Where a recommendation stands."""

    OPEN = "open"  # raised, waiting for someone to act on it; still updated by new detections
    DEFERRED = "deferred"  # owner chose to act later; stays in the inbox
    ACTED = "acted"  # owner did the action; closed
    DISMISSED = "dismissed"  # owner judged it not needed (reason kept as a label); closed


class FeedbackKind(StrEnum):
    """What the owner said about a recommendation."""

    ACTED = "acted"
    DEFERRED = "deferred"
    DISMISSED = "dismissed"


#: status each feedback kind moves a recommendation to
_NEXT = {
    FeedbackKind.ACTED: RecStatus.ACTED,
    FeedbackKind.DEFERRED: RecStatus.DEFERRED,
    FeedbackKind.DISMISSED: RecStatus.DISMISSED,
}
OPEN_STATUSES = frozenset({RecStatus.OPEN, RecStatus.DEFERRED})


@dataclass(frozen=True, slots=True)
class Recommendation:
    """A concrete action on a named asset, with its deadline, owner and evidence."""

    id: str
    use_case: str
    enterprise: str
    site: str
    area: str
    line: str
    asset: str
    asset_name: str
    action: str
    owner_role: str
    deadline: datetime  # when the action must be done (a planned stop's start, or detection time)
    deadline_label: str  # "Early-shift changeover stop" or "now"
    predicted_failure: datetime
    detected_at: datetime  # event (source) time of the window that confirmed the detection
    score: float
    threshold: float
    model: str
    model_version: str
    why: tuple[Contribution, ...]
    status: RecStatus
    detections: int  # how many windows confirmed it so far
    created_at: datetime  # wall time the record was made
    updated_at: datetime

    @property
    def is_open(self) -> bool:
        """Still waiting for a final answer."""
        return self.status in OPEN_STATUSES

    @property
    def deadline_is_now(self) -> bool:
        """True when no planned stop comes before the predicted failure."""
        return self.deadline_label == "now"


@dataclass(frozen=True, slots=True)
class Feedback:
    """What someone said about a recommendation; becomes a training label."""

    recommendation_id: str
    kind: FeedbackKind
    reason: str
    by: str
    at: datetime


def apply_feedback(rec: Recommendation, fb: Feedback) -> Recommendation:
    """The recommendation after ``fb``; refuses feedback on closed items or without a reason."""
    if fb.recommendation_id != rec.id:
        raise FeedbackError(f"feedback for {fb.recommendation_id} applied to {rec.id}")
    if not rec.is_open:
        raise FeedbackError(
            f"recommendation {rec.id} is already {rec.status.value}; it takes no more feedback",
        )
    if fb.kind is FeedbackKind.DISMISSED and not fb.reason.strip():
        raise FeedbackError(f"dismissing recommendation {rec.id} needs a reason")
    return replace(rec, status=_NEXT[fb.kind], updated_at=fb.at)


def recommendation_document(rec: Recommendation) -> dict[str, Any]:
    """The one JSON-ready form of a recommendation: the UNS topic and the API show exactly this."""
    return {
        "id": rec.id, "use_case": rec.use_case, "enterprise": rec.enterprise, "site": rec.site,
        "area": rec.area, "line": rec.line, "asset": rec.asset, "asset_name": rec.asset_name,
        "action": rec.action, "owner_role": rec.owner_role,
        "deadline": rec.deadline.isoformat(), "deadline_label": rec.deadline_label,
        "deadline_is_now": rec.deadline_is_now,
        "predicted_failure": rec.predicted_failure.isoformat(),
        "detected_at": rec.detected_at.isoformat(), "score": rec.score,
        "threshold": rec.threshold, "model": rec.model, "model_version": rec.model_version,
        "why": [{"feature": c.feature, "value": c.value, "baseline": c.baseline,
                 "spread": c.spread, "share": c.share, "unit": c.unit, "text": c.describe()}
                for c in rec.why],
        "status": rec.status.value, "is_open": rec.is_open, "detections": rec.detections,
        "created_at": rec.created_at.isoformat(), "updated_at": rec.updated_at.isoformat(),
    }


def render_action(template: str, *, asset: str, asset_id: str, deadline: str, line: str,
                  site: str) -> str:
    """Fill a use case's action template.

    >>> render_action("Inspect {asset} at the {deadline}", asset="Pump P-101", asset_id="p-101",
    ...               deadline="planned stop", line="l", site="s")
    'Inspect Pump P-101 at the planned stop'
    """
    return template.format(asset=asset, asset_id=asset_id, deadline=deadline, line=line, site=site)

"""Human triage: detections a model is not sure enough about go to a reviewer, not to the inbox.

A detection becomes a ``TriageItem`` instead of an intervention when

- its **confidence** is below the use case's ``confidence_floor``: confidence is
  ``score / threshold`` (for the PCA-SPE model, how many times its alarm limit the squared
  prediction error is; 1.0 right at the limit), or
- its input is **out of the model's training distribution** (``AnomalyModel.in_distribution``:
  Hotelling's T² above the training limit): the model extrapolates, so its score may mean
  nothing. A model that does not know its training distribution never triages for this.

A reviewer (engineer access) labels an item ``real_problem``, ``normal`` or ``unsure``; each
label is kept with its provenance (who, role, when, note), and a later label supersedes the
earlier one without erasing it. Labels are training data: ``normal`` marks a healthy window
the model got wrong, ``real_problem`` a fault the floor held back.

>>> [r.value for r in triage_reasons(1.1, floor=1.25, in_distribution=True)]
['low_confidence']
>>> triage_reasons(3.0, floor=1.25, in_distribution=None)  # confident, distribution unknown
()
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from andon.audit import Event, EventKind
from andon.errors import FeedbackError
from andon.scoring.contribution import Contribution

__all__ = [
    "TriageItem",
    "TriageLabel",
    "TriageReason",
    "TriageStatus",
    "TriageVerdict",
    "confidence",
    "label_event",
    "label_item",
    "triage_document",
    "triage_reasons",
]


class TriageReason(StrEnum):
    """Why a detection went to triage."""

    LOW_CONFIDENCE = "low_confidence"  # score / threshold below the use case's floor
    OUT_OF_DISTRIBUTION = "out_of_distribution"  # input outside the model's training data


class TriageStatus(StrEnum):
    """Where a triage item stands."""

    OPEN = "open"  # waiting for a reviewer; later detections of the asset update it
    LABELLED = "labelled"  # a reviewer said what it was (the latest label counts)


class TriageVerdict(StrEnum):
    """What a reviewer says a triaged detection was."""

    REAL_PROBLEM = "real_problem"  # a fault the model was right about
    NORMAL = "normal"  # healthy operation the model got wrong
    UNSURE = "unsure"  # cannot tell from the evidence


@dataclass(frozen=True, slots=True)
class TriageLabel:
    """One reviewer's verdict on a triage item, with its provenance."""

    item_id: int
    verdict: TriageVerdict
    by: str
    role: str
    at: datetime
    note: str = ""


@dataclass(frozen=True, slots=True)
class TriageItem:
    """A detection held for a reviewer, with the evidence to judge it.

    ``id`` is 0 until the store assigns one. ``detections`` counts the windows folded into the
    item while it was open; the evidence is the latest window's.
    """

    id: int
    use_case: str
    site: str
    line: str
    asset: str
    reasons: tuple[TriageReason, ...]
    score: float
    threshold: float
    model: str
    model_version: str
    window_end: datetime  # event time of the (latest) window
    why: tuple[Contribution, ...]
    created_at: datetime
    updated_at: datetime
    detections: int = 1
    status: TriageStatus = TriageStatus.OPEN
    label: TriageLabel | None = None  # the latest label, if any

    @property
    def confidence(self) -> float:
        """``score / threshold`` of the latest window."""
        return confidence(self.score, self.threshold)


def confidence(score: float, threshold: float) -> float:
    """Confidence of a detection: ``score / threshold`` (inf for a non-positive threshold)."""
    return score / threshold if threshold > 0 else float("inf")


def triage_reasons(ratio: float, *, floor: float,
                   in_distribution: bool | None) -> tuple[TriageReason, ...]:
    """Why an anomalous detection of confidence ``ratio`` needs a reviewer (empty: it does not).

    ``in_distribution`` None (unknown) never triages.
    """
    out: list[TriageReason] = []
    if ratio < floor:
        out.append(TriageReason.LOW_CONFIDENCE)
    if in_distribution is False:
        out.append(TriageReason.OUT_OF_DISTRIBUTION)
    return tuple(out)


def label_item(item: TriageItem, label: TriageLabel) -> TriageItem:
    """The item after ``label``; refuses a label meant for another item or without a reviewer."""
    if label.item_id != item.id:
        raise FeedbackError(f"label for triage item {label.item_id} applied to {item.id}")
    if not label.by.strip():
        raise FeedbackError(f"labelling triage item {item.id} needs the reviewer's name")
    return replace(item, status=TriageStatus.LABELLED, label=label, updated_at=label.at)


def label_event(label: TriageLabel) -> Event:
    """The ``triage_label`` event kept for a reviewer's label (API and CLI alike)."""
    note = label.note.strip()
    return Event(EventKind.TRIAGE_LABEL, f"triage item {label.item_id}",
                 label.verdict.value + (f": {note}" if note else ""), label.at, by=label.by)


def triage_document(item: TriageItem) -> dict[str, object]:
    """The JSON-ready form of a triage item, as the API and CLI show it."""
    lab = item.label
    return {
        "id": item.id, "use_case": item.use_case, "site": item.site, "line": item.line,
        "asset": item.asset, "reasons": [r.value for r in item.reasons],
        "score": item.score, "threshold": item.threshold,
        "confidence": round(item.confidence, 4), "model": item.model,
        "model_version": item.model_version, "window_end": item.window_end.isoformat(),
        "why": [{"feature": c.feature, "value": c.value, "baseline": c.baseline,
                 "spread": c.spread, "share": c.share, "unit": c.unit, "text": c.describe()}
                for c in item.why],
        "detections": item.detections, "status": item.status.value,
        "created_at": item.created_at.isoformat(), "updated_at": item.updated_at.isoformat(),
        "label": None if lab is None else {
            "verdict": lab.verdict.value, "by": lab.by, "role": lab.role,
            "at": lab.at.isoformat(), "note": lab.note,
        },
    }

"""The intervention record: one owned, time-bounded action, its lifecycle, feedback and outcome.

A ``Intervention`` is the one record every sink, the API and the UI show
(``intervention_document`` is its one JSON form). It ties together:

- **what and where**: the named asset, the action text rendered from the use case's template;
- **by when and who**: the deadline (the line's next planned stop before the predicted
  failure, or "now"), the owner role, the assignee (whoever acknowledged it);
- **how urgent**: ``priority`` from the use case (``priority:`` in the spec, default ``high``),
  raised to ``critical`` when no planned stop comes before the predicted failure (deadline
  "now"): then nobody can wait for a stop, and the shortest acknowledge limit applies;
- **why**: the evidence: the window of data (``window_start`` .. ``window_end``: from the start
  of the first window that confirmed the episode to the end of the latest one), the score and
  threshold, the top features (``why``), the model and its version;
- **where it stands**: the ISA-18.2 lifecycle of ``andon.interventions.lifecycle`` (state,
  escalation level, shelving expiry, and the history of every move with who, when and why);
- **identity**: ``id`` and ``dedup_key`` (use case + asset + episode start) are stable: the
  same episode always yields the same record, so storing and delivering it are idempotent.

Feedback (``acted`` / ``deferred`` / ``dismissed``) is the older, coarser way to answer; it is
mapped onto lifecycle moves by ``apply_feedback``. An ``Outcome`` (fault confirmed / no fault /
unsure, and what was found) comes after the action, or on a dismissed intervention; every
feedback and outcome is kept as a ``Label`` tied to the evidence window, for training and for
the track record.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from andon.errors import FeedbackError
from andon.interventions.lifecycle import (
    FINAL_STATES,
    InterventionLifecycle,
    InterventionState,
    Priority,
    TransitionRecord,
    legal_targets,
    transition,
)
from andon.scoring.contribution import Contribution

__all__ = [
    "FEEDBACK_STATE",
    "OUTCOME_STATES",
    "SYSTEM",
    "Contribution",
    "Feedback",
    "FeedbackKind",
    "Intervention",
    "InterventionState",
    "Label",
    "Outcome",
    "OutcomeLabel",
    "Priority",
    "TransitionRecord",
    "Via",
    "apply_feedback",
    "apply_outcome",
    "dedup_key",
    "feedback_for_move",
    "feedback_label",
    "intervention_document",
    "intervention_from_document",
    "move",
    "outcome_label",
    "render_action",
]


class FeedbackKind(StrEnum):
    """What the owner said about an intervention (mapped onto lifecycle moves)."""

    ACTED = "acted"  # -> done (acknowledged first if nobody had)
    DEFERRED = "deferred"  # -> deferred (acknowledged first if nobody had); reason required
    DISMISSED = "dismissed"  # -> dismissed; reason required


class OutcomeLabel(StrEnum):
    """What was found once the action was done (or on a dismissed intervention)."""

    FAULT_CONFIRMED = "fault_confirmed"  # the predicted fault was there
    NO_FAULT = "no_fault"  # nothing wrong was found: a false alarm
    UNSURE = "unsure"  # could not tell


class Via(StrEnum):
    """Through which surface an answer came."""

    WEB = "web"
    API = "api"
    MQTT = "mqtt"
    CMMS = "cmms"


#: lifecycle state each feedback kind ends in
FEEDBACK_STATE = {
    FeedbackKind.ACTED: InterventionState.DONE,
    FeedbackKind.DEFERRED: InterventionState.DEFERRED,
    FeedbackKind.DISMISSED: InterventionState.DISMISSED,
}
#: feedback kind a move into these states stands for (a move there is feedback, and a label)
_STATE_FEEDBACK = {state: kind for kind, state in FEEDBACK_STATE.items()}
#: states an outcome may be given in: after the action, or on a dismissed or expired one
OUTCOME_STATES = frozenset({InterventionState.DONE, InterventionState.DISMISSED,
                            InterventionState.EXPIRED})
#: who the system's own moves are recorded as
SYSTEM = "andon"


@dataclass(frozen=True, slots=True)
class Intervention:
    """A concrete action on a named asset: deadline, owner, priority, evidence and lifecycle."""

    id: str
    use_case: str
    enterprise: str
    site: str
    area: str
    line: str
    asset: str
    asset_name: str
    action: str
    owner_role: str  # the role that owns it now (escalation hands it up the chain)
    deadline: datetime  # when the action must be done (a planned stop's start, or detection time)
    deadline_label: str  # "Early-shift changeover stop (...)" or "now"
    predicted_failure: datetime
    detected_at: datetime  # event (source) time of the window that confirmed the detection
    score: float
    threshold: float
    model: str
    model_version: str
    why: tuple[Contribution, ...]
    state: InterventionState
    detections: int  # how many windows confirmed it so far
    created_at: datetime  # wall time the record was made
    updated_at: datetime
    priority: Priority = Priority.HIGH
    assignee: str | None = None  # who acknowledged it (and owns it now)
    escalation_level: int = 0
    shelved_until: datetime | None = None
    history: tuple[TransitionRecord, ...] = ()  # every move, oldest first, the raising one first
    dedup_key: str = ""  # use case + asset + episode start; "" = derived (see ``key``)
    window_start: datetime | None = None  # evidence: start of the first confirming window
    window_end: datetime | None = None  # evidence: end of the latest confirming window
    outcome: OutcomeLabel | None = None  # what was found, once told
    outcome_detail: str = ""

    @property
    def key(self) -> str:
        """The dedup key: ``use_case:asset:episode start`` (stored one, or derived)."""
        return self.dedup_key or dedup_key(self.use_case, self.asset, self.detected_at)

    @property
    def is_open(self) -> bool:
        """Not in a final state (done, dismissed, expired): still in someone's inbox."""
        return self.state not in FINAL_STATES

    @property
    def deadline_is_now(self) -> bool:
        """True when no planned stop comes before the predicted failure."""
        return self.deadline_label == "now"

    @property
    def evidence_window(self) -> tuple[datetime, datetime]:
        """The window of data behind it (falls back to the detection instant)."""
        return (self.window_start or self.detected_at, self.window_end or self.detected_at)

    @property
    def lifecycle(self) -> InterventionLifecycle:
        """The lifecycle part of the record (for ``transition`` and escalation)."""
        history = self.history or (TransitionRecord(None, InterventionState.NEW, SYSTEM,
                                                    self.created_at, "raised"),)
        return InterventionLifecycle(
            id=self.id, priority=Priority(self.priority), state=InterventionState(self.state),
            owner_role=self.owner_role, assignee=self.assignee,
            shelved_until=self.shelved_until, escalation_level=self.escalation_level,
            history=history,
        )

    def with_lifecycle(self, lc: InterventionLifecycle) -> Intervention:
        """Return the record with the lifecycle ``lc`` (state, owner, history...) folded in."""
        return replace(self, priority=lc.priority, state=lc.state, owner_role=lc.owner_role,
                       assignee=lc.assignee, shelved_until=lc.shelved_until,
                       escalation_level=lc.escalation_level, history=lc.history,
                       updated_at=max(self.updated_at, lc.last_change))

    def legal_moves(self) -> frozenset[InterventionState]:
        """States it may move to now."""
        return legal_targets(self.lifecycle)


def dedup_key(use_case: str, asset: str, episode_start: datetime) -> str:
    """``use_case:asset:episode start (UTC, ISO)``: one key per episode on one asset.

    >>> from andon.clock import utc
    >>> dedup_key("pump-bearing", "p-101", utc(2026, 3, 2, 7))
    'pump-bearing:p-101:2026-03-02T07:00:00Z'
    """
    instant = episode_start.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return f"{use_case}:{asset}:{instant}"


def move(iv: Intervention, target: InterventionState | str, *, by: str, at: datetime,
         reason: str = "", shelve_until: datetime | None = None,
         ) -> tuple[Intervention, TransitionRecord]:
    """Move ``iv`` through its lifecycle (``transition`` rules); ``LifecycleError`` if illegal."""
    lc, record = transition(iv.lifecycle, target, by=by, at=at, reason=reason,
                            shelve_until=shelve_until)
    return iv.with_lifecycle(lc), record


@dataclass(frozen=True, slots=True)
class Feedback:
    """What someone said about an intervention; becomes a training label."""

    intervention_id: str
    kind: FeedbackKind
    reason: str
    by: str
    at: datetime
    via: str = Via.API.value  # web / api / mqtt / cmms


def feedback_for_move(intervention_id: str, record: TransitionRecord, via: str) -> Feedback | None:
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


def intervention_document(iv: Intervention) -> dict[str, Any]:
    """The one JSON-ready form of an intervention: the UNS topic and the API show exactly this."""
    start, end = iv.evidence_window
    why = [{"feature": c.feature, "value": c.value, "baseline": c.baseline,
            "spread": c.spread, "share": c.share, "unit": c.unit, "text": c.describe()}
           for c in iv.why]
    return {
        "id": iv.id, "dedup_key": iv.key, "use_case": iv.use_case,
        "enterprise": iv.enterprise, "site": iv.site,
        "area": iv.area, "line": iv.line, "asset": iv.asset, "asset_name": iv.asset_name,
        "action": iv.action, "owner_role": iv.owner_role, "assignee": iv.assignee,
        "priority": Priority(iv.priority).value,
        "deadline": iv.deadline.isoformat(), "deadline_label": iv.deadline_label,
        "deadline_is_now": iv.deadline_is_now,
        "predicted_failure": iv.predicted_failure.isoformat(),
        "detected_at": iv.detected_at.isoformat(), "score": iv.score,
        "threshold": iv.threshold, "model": iv.model, "model_version": iv.model_version,
        "why": why,
        "evidence": {"window_start": start.isoformat(), "window_end": end.isoformat(),
                     "score": iv.score, "threshold": iv.threshold, "model": iv.model,
                     "model_version": iv.model_version,
                     "top_features": [w["feature"] for w in why]},
        "state": InterventionState(iv.state).value, "is_open": iv.is_open,
        "escalation_level": iv.escalation_level,
        "shelved_until": None if iv.shelved_until is None else iv.shelved_until.isoformat(),
        "legal_moves": sorted(s.value for s in iv.legal_moves()),
        "history": [t.to_dict() for t in iv.lifecycle.history],
        "outcome": None if iv.outcome is None else iv.outcome.value,
        "outcome_detail": iv.outcome_detail,
        "detections": iv.detections,
        "created_at": iv.created_at.isoformat(), "updated_at": iv.updated_at.isoformat(),
    }


def intervention_from_document(doc: dict[str, Any]) -> Intervention:
    """Rebuild a ``Intervention`` from its published document (``intervention_document``)."""
    why = tuple(Contribution(feature=str(c["feature"]), value=float(c["value"]),
                             baseline=float(c["baseline"]), spread=float(c["spread"]),
                             share=float(c["share"]), unit=str(c.get("unit", "")))
                for c in _dicts(doc.get("why", []), "why"))
    history = tuple(TransitionRecord.from_dict(h)
                    for h in _dicts(doc.get("history", []), "history"))
    found = doc.get("evidence")
    evidence: dict[str, Any] = found if isinstance(found, dict) else {}
    outcome = doc.get("outcome")
    return Intervention(
        id=str(doc["id"]), use_case=str(doc["use_case"]), enterprise=str(doc["enterprise"]),
        site=str(doc["site"]), area=str(doc["area"]), line=str(doc["line"]),
        asset=str(doc["asset"]), asset_name=str(doc["asset_name"]), action=str(doc["action"]),
        owner_role=str(doc["owner_role"]), deadline=_instant(doc["deadline"]),
        deadline_label=str(doc["deadline_label"]),
        predicted_failure=_instant(doc["predicted_failure"]),
        detected_at=_instant(doc["detected_at"]), score=float(doc["score"]),
        threshold=float(doc["threshold"]), model=str(doc["model"]),
        model_version=str(doc["model_version"]), why=why,
        state=InterventionState(doc["state"]), detections=int(doc["detections"]),
        created_at=_instant(doc["created_at"]), updated_at=_instant(doc["updated_at"]),
        priority=Priority(doc.get("priority", Priority.HIGH.value)),
        assignee=None if doc.get("assignee") is None else str(doc["assignee"]),
        escalation_level=int(doc.get("escalation_level", 0)),
        shelved_until=None if doc.get("shelved_until") is None else _instant(doc["shelved_until"]),
        history=history, dedup_key=str(doc.get("dedup_key", "")),
        window_start=None if evidence.get("window_start") is None
        else _instant(evidence["window_start"]),
        window_end=None if evidence.get("window_end") is None else _instant(evidence["window_end"]),
        outcome=None if outcome is None else OutcomeLabel(outcome),
        outcome_detail=str(doc.get("outcome_detail", "")))


def _instant(value: object) -> datetime:
    return datetime.fromisoformat(str(value))


def _dicts(value: object, what: str) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        raise TypeError(f"{what} is not a list")
    return [v for v in value if isinstance(v, dict)]


def render_action(template: str, *, asset: str, asset_id: str, deadline: str, line: str,
                  site: str) -> str:
    """Fill a use case's action template.

    >>> render_action("Inspect {asset} at the {deadline}", asset="Pump P-101", asset_id="p-101",
    ...               deadline="planned stop", line="l", site="s")
    'Inspect Pump P-101 at the planned stop'
    """
    return template.format(asset=asset, asset_id=asset_id, deadline=deadline, line=line, site=site)


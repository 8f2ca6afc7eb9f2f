"""The one wire form of an intervention: what the API returns and every topic and sink carries.

Nested by what a reader looks for, in this order::

    {"format": "andon.intervention.v2", "id": "iv-…", "dedup_key": "…", "use_case": "…",
     "where":     {enterprise, site, area, line, asset, asset_name},
     "action":    {text, owner_role, assignee, priority, deadline, deadline_label,
                   deadline_is_now, predicted_failure, failure_earliest, corrective,
                   stopped_at},
     "evidence":  {detected_at, window_start, window_end, score, threshold, model,
                   model_version, detections, why: [{feature, value, baseline, spread, share,
                   unit, deviation, residual, text}]},
     "lifecycle": {state, is_open, escalation_level, shelved_until, legal_moves,
                   history: [{from_state, to_state, by, at, reason}]},
     "outcome":   {label, detail} | null,
     "created_at": …, "updated_at": …}

``InterventionDoc`` is the pydantic model (the API's response schema); ``intervention_document``
gives its JSON-ready dict (ISO 8601 times in UTC), ``intervention_from_document`` rebuilds the
record, from this form or from the flat form releases before 0.2 published (a pre-0.2 edge's
``_andon/recommendation`` messages still reach the central ingest for one release).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from andon.interventions.lifecycle import InterventionState, Priority, TransitionRecord
from andon.interventions.record import Intervention, OutcomeLabel
from andon.scoring.contribution import Contribution

__all__ = [
    "FORMAT",
    "ActionDoc",
    "EvidenceDoc",
    "InterventionDoc",
    "LifecycleDoc",
    "MoveDoc",
    "OutcomeDoc",
    "WhereDoc",
    "WhyDoc",
    "intervention_document",
    "intervention_from_document",
]

#: the ``format`` of every document of this shape
FORMAT: Final = "andon.intervention.v2"


class _Doc(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class WhereDoc(_Doc):
    """Where: the asset and its place in the plant (ISA-95)."""

    enterprise: str
    site: str
    area: str
    line: str
    asset: str
    asset_name: str


class ActionDoc(_Doc):
    """What to do, by when, owned by whom, how urgent."""

    text: str = Field(description="the action, rendered from the use case's template")
    owner_role: str = Field(description="role that owns it now (escalation hands it up)")
    assignee: str | None = Field(description="who acknowledged it")
    priority: Priority
    deadline: datetime
    deadline_label: str = Field(description="name of the planned stop, or 'now'")
    deadline_is_now: bool
    predicted_failure: datetime = Field(description="the latest the failure is expected "
                                        "(detection + the use case's horizon)")
    failure_earliest: datetime | None = Field(
        default=None, description="the earliest the failure is expected (detection + "
        "horizon_min); the deadline is never after it. Null: the predicted failure itself")
    corrective: bool = Field(default=False, description="the asset stopped while this was "
                             "open: the text is a corrective action")
    stopped_at: datetime | None = Field(default=None, description="event time the asset was "
                                        "seen stopped outside a planned stop")


class WhyDoc(_Doc):
    """One feature's share in the score, against its healthy baseline."""

    feature: str
    value: float
    baseline: float
    spread: float
    share: float = Field(description="fraction of the score explained by this feature (0..1)")
    unit: str
    deviation: float | None = Field(default=None, description="(value - baseline) / spread: "
                                    "standard deviations from the healthy mean")
    residual: float | None = Field(default=None, description="the standardised residual the "
                                   "share came from (what the other features do not explain)")
    text: str = Field(description="the same, as one human sentence")

    @classmethod
    def of(cls, c: Contribution) -> WhyDoc:
        """Describe a contribution."""
        return cls(feature=c.feature, value=c.value, baseline=c.baseline, spread=c.spread,
                   share=c.share, unit=c.unit, deviation=c.z, residual=c.residual,
                   text=c.describe())

    def contribution(self) -> Contribution:
        """The contribution this describes."""
        return Contribution(self.feature, self.value, self.baseline, self.spread, self.share,
                            self.unit, self.deviation, self.residual)


class EvidenceDoc(_Doc):
    """Why: the window of data, the score against the threshold, the model, the top features."""

    detected_at: datetime = Field(description="event time of the window that confirmed it")
    window_start: datetime
    window_end: datetime
    score: float
    threshold: float
    model: str
    model_version: str
    detections: int = Field(description="windows that confirmed it so far")
    why: list[WhyDoc]


class MoveDoc(_Doc):
    """One lifecycle move: from where to where, who, when and why."""

    from_state: InterventionState | None
    to_state: InterventionState
    by: str
    at: datetime
    reason: str


class LifecycleDoc(_Doc):
    """Where it stands (ISA-18.2 states), and every move that brought it there."""

    state: InterventionState
    is_open: bool
    escalation_level: int
    shelved_until: datetime | None
    legal_moves: list[InterventionState] = Field(description="states it may move to now")
    history: list[MoveDoc] = Field(description="every move, oldest first")


class OutcomeDoc(_Doc):
    """What was found once the action was done."""

    label: OutcomeLabel
    detail: str


class InterventionDoc(_Doc):
    """An intervention: where, what to do, why, where it stands, and what was found."""

    format: Literal["andon.intervention.v2"] = FORMAT
    id: str
    dedup_key: str = Field(description="use case:asset:episode start; stable per episode")
    use_case: str
    where: WhereDoc
    action: ActionDoc
    evidence: EvidenceDoc
    lifecycle: LifecycleDoc
    outcome: OutcomeDoc | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, iv: Intervention) -> InterventionDoc:
        """The wire form of ``iv``."""
        start, end = iv.evidence_window
        return cls(
            id=iv.id, dedup_key=iv.key, use_case=iv.use_case,
            where=WhereDoc(enterprise=iv.enterprise, site=iv.site, area=iv.area, line=iv.line,
                           asset=iv.asset, asset_name=iv.asset_name),
            action=ActionDoc(text=iv.action, owner_role=iv.owner_role, assignee=iv.assignee,
                             priority=Priority(iv.priority), deadline=iv.deadline,
                             deadline_label=iv.deadline_label,
                             deadline_is_now=iv.deadline_is_now,
                             predicted_failure=iv.predicted_failure,
                             failure_earliest=iv.failure_earliest, corrective=iv.corrective,
                             stopped_at=iv.stopped_at),
            evidence=EvidenceDoc(detected_at=iv.detected_at, window_start=start, window_end=end,
                                 score=iv.score, threshold=iv.threshold, model=iv.model,
                                 model_version=iv.model_version, detections=iv.detections,
                                 why=[WhyDoc.of(c) for c in iv.why]),
            lifecycle=LifecycleDoc(
                state=InterventionState(iv.state), is_open=iv.is_open,
                escalation_level=iv.escalation_level, shelved_until=iv.shelved_until,
                legal_moves=sorted(iv.legal_moves()),
                history=[MoveDoc(from_state=t.from_state, to_state=t.to_state, by=t.by,
                                 at=t.at, reason=t.reason) for t in iv.lifecycle.history]),
            outcome=None if iv.outcome is None else OutcomeDoc(label=iv.outcome,
                                                               detail=iv.outcome_detail),
            created_at=iv.created_at, updated_at=iv.updated_at,
        )

    def intervention(self) -> Intervention:
        """The record this document describes."""
        w, a, e, lc = self.where, self.action, self.evidence, self.lifecycle
        return Intervention(
            id=self.id, use_case=self.use_case, enterprise=w.enterprise, site=w.site,
            area=w.area, line=w.line, asset=w.asset, asset_name=w.asset_name, action=a.text,
            owner_role=a.owner_role, deadline=a.deadline, deadline_label=a.deadline_label,
            predicted_failure=a.predicted_failure, detected_at=e.detected_at, score=e.score,
            threshold=e.threshold, model=e.model, model_version=e.model_version,
            why=tuple(x.contribution() for x in e.why), state=lc.state,
            detections=e.detections, created_at=self.created_at, updated_at=self.updated_at,
            priority=a.priority, assignee=a.assignee, escalation_level=lc.escalation_level,
            shelved_until=lc.shelved_until,
            history=tuple(TransitionRecord(m.from_state, m.to_state, m.by, m.at, m.reason)
                          for m in lc.history),
            dedup_key=self.dedup_key, window_start=e.window_start, window_end=e.window_end,
            outcome=None if self.outcome is None else self.outcome.label,
            outcome_detail="" if self.outcome is None else self.outcome.detail,
            failure_earliest=a.failure_earliest, stopped_at=a.stopped_at,
        )


def intervention_document(iv: Intervention) -> dict[str, Any]:
    """The JSON-ready wire form of ``iv`` (ISO 8601 times)."""
    return InterventionDoc.of(iv).model_dump(mode="json")


def intervention_from_document(doc: dict[str, Any]) -> Intervention:
    """Rebuild an intervention from its wire form (or the pre-0.2 flat form).

    ``pydantic.ValidationError`` (a ``ValueError``) names the field that is wrong; ``KeyError``
    or ``TypeError`` for a flat document missing a field.
    """
    if "where" in doc:
        fields = {k: v for k, v in doc.items() if k not in _TRANSPORT}
        return InterventionDoc.model_validate(fields).intervention()
    return _from_flat(doc)


#: fields a transport adds around the document (the edge outbox's idempotency key and order)
_TRANSPORT = frozenset({"key", "seq", "epoch", "floor", "source", "edge_id"})


def _from_flat(doc: dict[str, Any]) -> Intervention:
    """The flat document of releases before 0.2 (kept for one release)."""
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

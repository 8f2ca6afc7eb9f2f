"""The intervention record: one owned, time-bounded action, its lifecycle, feedback and outcome.

An ``Intervention`` is the one record every sink, the API and the UI show
(``andon.interventions.wire`` is its one JSON form). It ties together:

- **what and where**: the named asset, the action text rendered from the use case's template;
- **by when and who**: the deadline (the line's next planned stop before the *earliest*
  predicted failure, or "now" with a request for an unplanned stop), the owner role, the
  assignee (whoever acknowledged it);
- **when it is expected to fail**: ``failure_earliest`` .. ``predicted_failure``, the detection
  plus the use case's ``horizon_min`` .. ``horizon`` (the band of its P-F interval); the
  deadline is never after ``failure_earliest``;
- **whether the asset still runs**: ``stopped_at`` is set when the asset was seen stopped
  outside a planned stop while it was open: the action is then a corrective one
  (``corrective_action``) and the evidence stays that of the windows that raised it;
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

What people say and find about an intervention (answers, outcomes, labels) lives in
``andon.feedback``; the record keeps only the latest outcome (``outcome``, ``outcome_detail``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum

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
    "SYSTEM",
    "Contribution",
    "Intervention",
    "InterventionState",
    "OutcomeLabel",
    "Priority",
    "TransitionRecord",
    "corrective_action",
    "dedup_key",
    "merge_intervention",
    "move",
    "render_action",
]


class OutcomeLabel(StrEnum):
    """What was found once the action was done (or on a dismissed intervention)."""

    FAULT_CONFIRMED = "fault_confirmed"  # the predicted fault was there
    NO_FAULT = "no_fault"  # nothing wrong was found: a false alarm
    UNSURE = "unsure"  # could not tell


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
    failure_earliest: datetime | None = None  # the band's early edge (None: predicted_failure)
    stopped_at: datetime | None = None  # event time the asset was seen stopped: corrective

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
    def failure_window(self) -> tuple[datetime, datetime]:
        """When it is expected to fail: earliest and latest (one instant without a band)."""
        return (self.failure_earliest or self.predicted_failure, self.predicted_failure)

    @property
    def corrective(self) -> bool:
        """The asset stopped while this was open: the action is now a corrective one."""
        return self.stopped_at is not None

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


def merge_intervention(current: Intervention | None, incoming: Intervention
                         ) -> Intervention:
    """What the central store keeps when an edge forwards a version of an intervention.

    The edge owns the evidence (detections, score, window, why); the central side owns the
    lifecycle (acknowledged, assigned, deferred, done, outcome...), since people answer there.
    A version older than the stored one (fewer detections) changes nothing. Once the asset
    stopped (``corrective``), the edge's corrective version replaces the action, deadline,
    ``stopped_at`` and the evidence (the windows before the stop), and nothing later changes
    the evidence.
    """
    if current is None:
        return incoming
    if current.corrective:
        return current  # the evidence stays the windows that raised it; the action is set
    if incoming.corrective:  # the asset stopped: the edge's corrective version, whose
        # evidence is that of the windows before the stop (windows overlapping it dropped)
        return replace(current, action=incoming.action, deadline=incoming.deadline,
                       deadline_label=incoming.deadline_label, stopped_at=incoming.stopped_at,
                       detections=incoming.detections, score=incoming.score,
                       threshold=incoming.threshold, why=incoming.why, model=incoming.model,
                       model_version=incoming.model_version, window_end=incoming.window_end,
                       updated_at=max(current.updated_at, incoming.updated_at))
    if incoming.detections < current.detections:
        return current
    return replace(current, detections=incoming.detections, score=incoming.score,
                   threshold=incoming.threshold, why=incoming.why, model=incoming.model,
                   model_version=incoming.model_version, window_end=incoming.window_end,
                   predicted_failure=incoming.predicted_failure,
                   failure_earliest=incoming.failure_earliest,
                   updated_at=max(current.updated_at, incoming.updated_at))


def render_action(template: str, *, asset: str, asset_id: str, deadline: str, line: str,
                  site: str) -> str:
    """Fill a use case's action template.

    >>> render_action("Inspect {asset} at the {deadline}", asset="Pump P-101", asset_id="p-101",
    ...               deadline="planned stop", line="l", site="s")
    'Inspect Pump P-101 at the planned stop'
    """
    return template.format(asset=asset, asset_id=asset_id, deadline=deadline, line=line, site=site)



def corrective_action(iv: Intervention, *, use_case: str, stopped: str) -> str:
    """The action once the asset stopped while ``iv`` was open.

    ``stopped`` is the local end of the first window found at rest: the asset stopped by then.

    >>> from andon.testing.factories import make_intervention
    >>> corrective_action(make_intervention(), use_case="Pump bearing wear",
    ...                   stopped="Tue 24 Nov 01:00 CET")  # doctest: +NORMALIZE_WHITESPACE
    'Corrective action: Pump P-101 stopped by Tue 24 Nov 01:00 CET outside any planned stop,
    after this warning of pump bearing wear. Find and repair the fault before restarting it
    (the warning asked to: Inspect the drive-end bearing of Pump P-101 at the changeover
    stop).'
    """
    return (f"Corrective action: {iv.asset_name} stopped by {stopped} outside any planned "
            f"stop, after this warning of {use_case[:1].lower()}{use_case[1:]}. Find and "
            f"repair the fault before restarting it (the warning asked to: {iv.action}).")

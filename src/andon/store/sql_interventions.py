"""The interventions part of ``SqlStore``: interventions, their lifecycle, feedback and labels.

``SqlStore`` inherits ``InterventionTables``; it relies on the store's ``_write`` / ``_read``
connections and ``_insert`` (one writer, see ``andon.store.sql``).

Two writers share an intervention: the edge (each new detection updates the *evidence*:
score, window, detections) and the people and the escalation service (who move its
*lifecycle*: state, owner, assignee, history). So ``save_intervention`` inserts a new record
whole but, for one already stored, updates only the evidence columns; lifecycle changes go
through ``change_intervention`` (and ``transition_intervention`` / ``record_feedback``),
which read the row locked (``SELECT ... FOR UPDATE`` on PostgreSQL, the write lock on SQLite)
and write it back in the same transaction, so no change is lost and none is applied twice.

The change feed: every write of an intervention row stamps it with the next ``change_seq``
(store-wide; assigned under the SQLite write lock, or a transaction-level advisory lock on
PostgreSQL, so sequence order is commit order and a reader that follows
``intervention_changes(after=...)`` never skips a change). Listeners registered with
``on_intervention_change`` are called after each such commit, so a sink in the same process
wakes at once; one in another process polls the feed.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, replace
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, func, select, text, update

from andon.errors import NotFound
from andon.feedback import (
    Feedback,
    FeedbackKind,
    Label,
    Outcome,
    apply_feedback,
    apply_outcome,
    feedback_for_move,
    feedback_label,
    outcome_label,
)
from andon.interventions.lifecycle import (
    FINAL_STATES,
    InterventionState,
    Priority,
    TransitionRecord,
)
from andon.interventions.record import Contribution, Intervention, OutcomeLabel, move
from andon.store.schema import FEEDBACK, INTERVENTIONS, LABELS, as_utc
from andon.store.sql_mixin import SqlMixin

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import datetime

    from sqlalchemy import Row

__all__ = ["InterventionTables"]

_OPEN = tuple(s.value for s in InterventionState if s not in FINAL_STATES)
#: columns a detection may change on a stored intervention (the evidence, not the lifecycle;
#: a stopped asset's corrective version changes the action, its deadline and ``stopped_at``)
_EVIDENCE = ("score", "threshold", "why", "detections", "updated_at", "model", "model_version",
             "window_end", "action", "deadline", "deadline_label", "predicted_failure",
             "failure_earliest", "stopped_at")
#: columns a lifecycle change writes
_LIFECYCLE = ("state", "owner_role", "assignee", "priority", "escalation_level",
              "shelved_until", "history", "updated_at", "outcome", "outcome_detail")
#: key of the PostgreSQL advisory lock that orders change_seq ("andon-iv")
_CHANGE_LOCK = 0x616E646F6E2D6976


class InterventionTables(SqlMixin):
    """Store methods for interventions, feedback and labels (mixed into ``SqlStore``)."""

    # -- interventions ------------------------------------------------------------------
    def save_intervention(self, iv: Intervention) -> None:
        """Insert an intervention, or update the evidence of a stored one (by id).

        The lifecycle of a stored one (state, owner, history...) is left as stored: it moves
        only through ``change_intervention`` and the functions built on it.
        """
        values = _iv_to_row(iv)
        with self._write() as conn:
            values["change_seq"] = _next_change(conn)
            stmt = self._insert(INTERVENTIONS).values(values)
            stmt = stmt.on_conflict_do_update(
                index_elements=[INTERVENTIONS.c.id],
                set_={k: stmt.excluded[k] for k in (*_EVIDENCE, "change_seq")},
            )
            conn.execute(stmt)
        self._changed()

    def get_intervention(self, intervention_id: str) -> Intervention:
        """One intervention; ``NotFound`` if unknown."""
        stmt = select(INTERVENTIONS).where(INTERVENTIONS.c.id == intervention_id)
        with self._read() as conn:
            row = conn.execute(stmt).one_or_none()
        if row is None:
            raise NotFound("intervention", intervention_id)
        return _iv_from_row(row)

    def list_interventions(self, *, open_only: bool = True, limit: int = 200,
                             since: datetime | None = None,
                             until: datetime | None = None) -> list[Intervention]:
        """Newest first (by created_at); ``open_only``: not done, dismissed or expired.

        ``since`` / ``until`` keep those created in ``[since, until)``.
        """
        c = INTERVENTIONS.c
        stmt = select(INTERVENTIONS).order_by(c.created_at.desc(), c.id).limit(limit)
        if open_only:
            stmt = stmt.where(c.state.in_(_OPEN))
        if since is not None:
            stmt = stmt.where(c.created_at >= as_utc(since, "since"))
        if until is not None:
            stmt = stmt.where(c.created_at < as_utc(until, "until"))
        with self._read() as conn:
            return [_iv_from_row(row) for row in conn.execute(stmt)]

    def count_interventions_by_state(self) -> dict[str, int]:
        """Lifecycle state -> number of interventions in it (states with none left out)."""
        c = INTERVENTIONS.c
        stmt = select(c.state, func.count()).group_by(c.state).order_by(c.state)
        with self._read() as conn:
            return {str(row[0]): int(row[1]) for row in conn.execute(stmt)}

    def intervention_changes(self, *, after: int = 0,
                             limit: int = 500) -> list[tuple[int, Intervention]]:
        """The change feed: ``(change_seq, record)`` written after ``after``, oldest first.

        Each intervention appears once, at its latest change; follow it by passing the last
        ``change_seq`` seen as ``after``.
        """
        c = INTERVENTIONS.c
        stmt = (select(INTERVENTIONS).where(c.change_seq > after).order_by(c.change_seq)
                .limit(limit))
        with self._read() as conn:
            return [(int(row.change_seq), _iv_from_row(row)) for row in conn.execute(stmt)]

    def on_intervention_change(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Call ``listener()`` after each committed write of an intervention (any thread).

        Returns a function that unregisters it. A listener must be quick and must not raise
        (hand the news to a loop: ``loop.call_soon_threadsafe(event.set)``).
        """
        listeners = self._listeners()
        listeners.append(listener)
        return lambda: listeners.remove(listener) if listener in listeners else None

    def open_intervention_for(self, use_case: str, asset: str) -> Intervention | None:
        """Return the newest open intervention of a use case on an asset."""
        c = INTERVENTIONS.c
        stmt = (
            select(INTERVENTIONS)
            .where(c.use_case == use_case, c.asset == asset, c.state.in_(_OPEN))
            .order_by(c.created_at.desc(), c.id)
            .limit(1)
        )
        with self._read() as conn:
            row = conn.execute(stmt).one_or_none()
        return None if row is None else _iv_from_row(row)

    def change_intervention(
        self, intervention_id: str, change: Callable[[Intervention], Intervention],
    ) -> tuple[Intervention, Intervention]:
        """Apply a pure ``change`` to the stored record under the write lock; (before, after).

        Only the lifecycle columns are written. ``NotFound`` if unknown; whatever ``change``
        raises leaves the record as it was.
        """
        with self._write() as conn:
            before = self._locked(conn, intervention_id)
            after = change(before)
            if after != before:
                self._write_lifecycle(conn, after)
        if after != before:
            self._changed()
        return before, after

    def transition_intervention(
        self, intervention_id: str, target: InterventionState | str, *, by: str, at: datetime,
        reason: str = "", shelve_until: datetime | None = None, via: str = "api",
    ) -> tuple[Intervention, TransitionRecord]:
        """Move an intervention through its lifecycle; store the move (and its label).

        A move into done / deferred / dismissed is feedback too (acted / deferred / dismissed):
        it is kept as feedback and as a label. ``LifecycleError`` (nothing stored) if illegal.
        """
        at = as_utc(at, "transition time")
        if shelve_until is not None:
            shelve_until = as_utc(shelve_until, "shelve_until")
        with self._write() as conn:
            before = self._locked(conn, intervention_id)
            after, record = move(before, target, by=by, at=at, reason=reason.strip(),
                                 shelve_until=shelve_until)
            self._write_lifecycle(conn, after)
            fb = feedback_for_move(intervention_id, record, via)
            if fb is not None:
                self._insert_feedback(conn, after, fb)
        self._changed()
        return after, record

    def record_feedback(self, fb: Feedback) -> Intervention:
        """Apply feedback (``apply_feedback``), store it, its moves and its label; return it.

        ``NotFound`` if the intervention is unknown; ``FeedbackError`` / ``LifecycleError``
        (nothing stored) if the feedback breaks a rule. The intervention is read and locked
        in the same transaction that writes, so two concurrent answers cannot both close it.
        """
        fb = replace(fb, kind=FeedbackKind(fb.kind), at=as_utc(fb.at, "feedback time"),
                     reason=fb.reason.strip(), via=str(fb.via))
        with self._write() as conn:
            before = self._locked(conn, fb.intervention_id)
            updated = apply_feedback(before, fb)
            self._write_lifecycle(conn, updated)
            self._insert_feedback(conn, updated, fb)
        self._changed()
        return updated

    def feedback_for(self, intervention_id: str) -> list[Feedback]:
        """Feedback given on an intervention, oldest first (empty if none or unknown)."""
        c = FEEDBACK.c
        stmt = select(FEEDBACK).where(c.intervention_id == intervention_id).order_by(c.at, c.id)
        with self._read() as conn:
            return [
                Feedback(intervention_id=row.intervention_id, kind=FeedbackKind(row.kind),
                         reason=row.reason, by=row.by, at=row.at, via=row.via)
                for row in conn.execute(stmt)
            ]

    # -- outcomes and labels --------------------------------------------------------------
    def record_outcome(self, outcome: Outcome) -> tuple[Intervention, Label]:
        """Record what was found (``apply_outcome`` rules) and its label; return both.

        ``NotFound`` if unknown; ``FeedbackError`` (nothing stored) if it is too early for an
        outcome. For the MQTT reply topic and the CMMS adapter: pass ``via``.
        """
        outcome = replace(outcome, label=OutcomeLabel(outcome.label),
                          at=as_utc(outcome.at, "outcome time"), via=str(outcome.via))
        with self._write() as conn:
            before = self._locked(conn, outcome.intervention_id)
            after = apply_outcome(before, outcome)
            self._write_lifecycle(conn, after)
            label = outcome_label(after, outcome)
            new_id = conn.execute(LABELS.insert().values(_label_row(label))
                                  .returning(LABELS.c.id)).scalar_one()
        self._changed()
        return after, replace(label, id=int(new_id))

    def labels(self, *, intervention_id: str | None = None, since: datetime | None = None,
               limit: int | None = None) -> list[Label]:
        """Labels, oldest first (by ``at``, then insertion)."""
        c = LABELS.c
        stmt = select(LABELS).order_by(c.at, c.id)
        if intervention_id is not None:
            stmt = stmt.where(c.intervention_id == intervention_id)
        if since is not None:
            stmt = stmt.where(c.at >= as_utc(since, "since"))
        if limit is not None:
            stmt = stmt.limit(limit)
        with self._read() as conn:
            return [_label_from_row(row) for row in conn.execute(stmt)]

    # -- internals ------------------------------------------------------------------------
    def _locked(self, conn: Connection, intervention_id: str) -> Intervention:
        c = INTERVENTIONS.c
        row = conn.execute(
            select(INTERVENTIONS).where(c.id == intervention_id).with_for_update(),
        ).one_or_none()
        if row is None:
            raise NotFound("intervention", intervention_id)
        return _iv_from_row(row)

    def _write_lifecycle(self, conn: Connection, iv: Intervention) -> None:
        values = _iv_to_row(iv)
        conn.execute(update(INTERVENTIONS).where(INTERVENTIONS.c.id == iv.id)
                     .values({**{k: values[k] for k in _LIFECYCLE},
                              "change_seq": _next_change(conn)}))

    def _listeners(self) -> list[Callable[[], None]]:
        found: list[Callable[[], None]] | None = getattr(self, "_change_listeners", None)
        if found is None:
            found = []
            self._change_listeners = found
        return found

    def _changed(self) -> None:
        """Tell the listeners an intervention was written (after the commit)."""
        for listener in list(self._listeners()):
            listener()

    def _insert_feedback(self, conn: Connection, iv: Intervention, fb: Feedback) -> None:
        conn.execute(FEEDBACK.insert().values(
            intervention_id=fb.intervention_id, kind=FeedbackKind(fb.kind).value,
            reason=fb.reason, by=fb.by, at=as_utc(fb.at, "feedback time"), via=str(fb.via),
        ))
        conn.execute(LABELS.insert().values(_label_row(feedback_label(iv, fb))))


def _next_change(conn: Connection) -> int:
    """The next ``change_seq``, inside the caller's write transaction (see the module doc)."""
    if conn.dialect.name == "postgresql":  # hold until commit: sequence order = commit order
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _CHANGE_LOCK})
    top = conn.execute(select(func.max(INTERVENTIONS.c.change_seq))).scalar()
    return int(top or 0) + 1


def _history_to_json(history: Sequence[TransitionRecord]) -> str:
    return json.dumps([t.to_dict() for t in history])


def _iv_to_row(iv: Intervention) -> dict[str, Any]:
    return {
        "id": iv.id, "use_case": iv.use_case, "enterprise": iv.enterprise, "site": iv.site,
        "area": iv.area, "line": iv.line, "asset": iv.asset, "asset_name": iv.asset_name,
        "action": iv.action, "owner_role": iv.owner_role, "deadline": iv.deadline,
        "deadline_label": iv.deadline_label, "predicted_failure": iv.predicted_failure,
        "detected_at": iv.detected_at, "score": iv.score, "threshold": iv.threshold,
        "model": iv.model, "model_version": iv.model_version,
        "why": json.dumps([asdict(c) for c in iv.why]),
        "state": InterventionState(iv.state).value, "detections": iv.detections,
        "created_at": iv.created_at, "updated_at": iv.updated_at,
        "priority": Priority(iv.priority).value, "assignee": iv.assignee,
        "escalation_level": iv.escalation_level, "shelved_until": iv.shelved_until,
        "history": _history_to_json(iv.history), "dedup_key": iv.dedup_key,
        "window_start": iv.window_start, "window_end": iv.window_end,
        "outcome": None if iv.outcome is None else OutcomeLabel(iv.outcome).value,
        "outcome_detail": iv.outcome_detail,
        "failure_earliest": iv.failure_earliest, "stopped_at": iv.stopped_at,
    }


def _iv_from_row(row: Row[Any]) -> Intervention:
    # history instants are read back in UTC, like every other datetime of the store
    history = tuple(replace(t, at=as_utc(t.at)) for t in
                    (TransitionRecord.from_dict(d) for d in json.loads(row.history)))
    return Intervention(
        id=row.id, use_case=row.use_case, enterprise=row.enterprise, site=row.site,
        area=row.area, line=row.line, asset=row.asset, asset_name=row.asset_name,
        action=row.action, owner_role=row.owner_role, deadline=row.deadline,
        deadline_label=row.deadline_label, predicted_failure=row.predicted_failure,
        detected_at=row.detected_at, score=row.score, threshold=row.threshold,
        model=row.model, model_version=row.model_version,
        why=tuple(Contribution(**c) for c in json.loads(row.why)),
        state=InterventionState(row.state), detections=row.detections,
        created_at=row.created_at, updated_at=row.updated_at,
        priority=Priority(row.priority), assignee=row.assignee,
        escalation_level=row.escalation_level, shelved_until=row.shelved_until,
        history=history, dedup_key=row.dedup_key, window_start=row.window_start,
        window_end=row.window_end,
        outcome=None if row.outcome is None else OutcomeLabel(row.outcome),
        outcome_detail=row.outcome_detail, failure_earliest=row.failure_earliest,
        stopped_at=row.stopped_at,
    )


def _label_row(label: Label) -> dict[str, Any]:
    row = label.to_dict()
    del row["id"]
    row.update(window_start=as_utc(label.window_start, "window start"),
               window_end=as_utc(label.window_end, "window end"),
               at=as_utc(label.at, "label time"))
    return row


def _label_from_row(row: Row[Any]) -> Label:
    return Label(
        intervention_id=row.intervention_id, asset=row.asset, use_case=row.use_case,
        model=row.model, model_version=row.model_version, window_start=row.window_start,
        window_end=row.window_end, kind=row.kind, label=row.label, detail=row.detail,
        by=row.by, at=row.at, via=row.via, id=row.id,
    )

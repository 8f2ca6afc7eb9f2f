"""Work orders: import a CMMS export, and apply what a CMMS says about Andon's work orders."""

from __future__ import annotations

from typing import TYPE_CHECKING

from andon.app.context import Change
from andon.audit import Event, EventKind
from andon.auth.access import Permission
from andon.errors import AndonError, NotFound
from andon.feedback.answers import Feedback, FeedbackKind
from andon.feedback.outcomes import Outcome
from andon.feedback.workorders import ImportResult, WorkOrderStatus, read_work_orders
from andon.interventions.lifecycle import InterventionState
from andon.interventions.record import OutcomeLabel
from andon.text import one_line

if TYPE_CHECKING:
    from collections.abc import Mapping
    from datetime import tzinfo
    from pathlib import Path

    from andon.app.context import Actor, Context
    from andon.feedback.workorders import WorkOrderChange

__all__ = ["apply_work_order", "import_work_orders"]

_OUTCOMES = frozenset(o.value for o in OutcomeLabel)


def import_work_orders(ctx: Context, actor: Actor, path: Path, *,
                       asset_map: Mapping[str, str] | None = None,
                       timezone: tzinfo | None = None) -> Change[ImportResult]:
    """Read a CMMS export and store its usable orders (idempotent by external id).

    Rows that cannot be used come back in the result, each with ``file:line`` and a reason.
    Needs ``manage_models`` (work orders are the facts models are judged on).
    """
    actor.require(Permission.MANAGE_MODELS)
    result = read_work_orders(path, ctx.spec, asset_map=asset_map, timezone=timezone)
    result.new, result.updated = ctx.store.upsert_work_orders(result.orders, ctx.clock.now())
    result.unchanged = len({o.external_id for o in result.orders}) - result.new - result.updated
    event = Event(EventKind.WORK_ORDER, path.name,
                  f"imported {result.new} new, {result.updated} updated, {result.unchanged} "
                  f"unchanged, {len(result.rejected)} rejected", ctx.clock.now(), actor.name)
    ctx.store.add_event(event)
    return Change(result, (event,))


def apply_work_order(ctx: Context, actor: Actor, change: WorkOrderChange) -> Change[str]:
    """Apply what the CMMS says about an intervention's work order; what was done, one line.

    COMPLETE → feedback ``acted`` (the intervention is done) and an outcome label (the work
    order's ``outcome`` if it names one, else ``unsure``) with the technician's notes;
    CANCELLED → ``dismissed``; ON_HOLD → ``deferred``; IN_PROGRESS → ``in_progress``. An
    intervention already closed, or already in that state, is left alone. Each applied change
    is an event (kind ``work_order``); a refused one too, with its reason. Never raises for
    what the CMMS says (the CMMS is ``actor``: its name is the sink's).
    """
    at = change.at or ctx.clock.now()
    by = change.by or actor.name
    iid = change.intervention_id
    store = ctx.store
    try:
        iv = store.get_intervention(iid)
    except NotFound:
        return Change(f"{iid}: unknown intervention")
    target = change.asks_for
    if not iv.is_open or target is None or iv.state is target:
        return Change(f"{iid}: nothing to do ({iv.state.value}, work order "
                      f"{change.status.value})")
    note = change.note or f"work order {change.work_order_id} {change.status.value.lower()}"
    reason = f"{actor.name} work order {change.work_order_id}: {note}"
    via = actor.via.value
    try:
        at = max(at, iv.updated_at)  # a CMMS clock behind ours must not run history backwards
        if change.status is WorkOrderStatus.COMPLETE:
            store.record_feedback(Feedback(iid, FeedbackKind.ACTED, reason, by, at, via))
            label = (OutcomeLabel(change.outcome) if change.outcome in _OUTCOMES
                     else OutcomeLabel.UNSURE)
            try:
                store.record_outcome(Outcome(iid, label, note, by, at, via))
                done = f"{iid}: done, outcome {label.value}"
            except AndonError as exc:  # done stays done; the outcome can be told later
                done = f"{iid}: done; outcome refused: {one_line(str(exc))}"
        elif change.status is WorkOrderStatus.CANCELLED:
            store.record_feedback(Feedback(iid, FeedbackKind.DISMISSED, reason, by, at, via))
            done = f"{iid}: dismissed"
        elif change.status is WorkOrderStatus.ON_HOLD:
            store.record_feedback(Feedback(iid, FeedbackKind.DEFERRED, reason, by, at, via))
            done = f"{iid}: deferred"
        else:
            if iv.state in {InterventionState.NEW, InterventionState.ESCALATED}:
                store.transition_intervention(iid, InterventionState.ACKNOWLEDGED, by=by,
                                              at=at, reason=reason, via=via)
            store.transition_intervention(iid, InterventionState.IN_PROGRESS, by=by, at=at,
                                          reason=reason, via=via)
            done = f"{iid}: in progress"
    except AndonError as exc:
        done = (f"{iid}: work order {change.work_order_id} {change.status.value} refused: "
                f"{one_line(str(exc))}")
    event = Event(EventKind.WORK_ORDER, iid, done, ctx.clock.now(), by)
    store.add_event(event)
    return Change(done, (event,))


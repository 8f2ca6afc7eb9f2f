"""Escalation and shelving expiry: what Andon itself does when nobody answers in time.

``escalate_due`` applies every escalation and shelving expiry due by the clock's ``now``
(``andon.interventions.escalation.advance``, a pure function of the stored history), each
under the store's write lock, and records an ``escalated`` or ``unshelved`` event per move, at
the instant it became due. It keeps nothing in memory, so a restarted (or second) service
escalates at the same instant, never twice. ``andon.services.escalation`` runs it on a timer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import structlog

from andon.audit import Event, EventKind
from andon.interventions.escalation import EscalationPolicy, advance
from andon.interventions.lifecycle import InterventionState
from andon.interventions.record import SYSTEM

if TYPE_CHECKING:
    from andon.app.context import Context

__all__ = ["TickReport", "escalate_due"]

log = structlog.get_logger(__name__)

#: most open interventions looked at per tick (the inbox holds one per use case and asset)
_BATCH = 10_000
_TIMED = frozenset({InterventionState.NEW, InterventionState.ESCALATED,
                    InterventionState.SHELVED})


@dataclass(frozen=True, slots=True)
class TickReport:
    """What one tick did: interventions escalated (one line each) and shelvings expired."""

    at: datetime
    escalations: tuple[str, ...] = ()
    unshelved: tuple[str, ...] = ()
    events: tuple[Event, ...] = ()


def escalate_due(ctx: Context, policy: EscalationPolicy) -> TickReport:
    """Apply what is due now; record an ``escalated`` event per escalation.

    An intervention whose change fails is logged and left for the next tick; the others
    are still handled.
    """
    now = ctx.clock.now()
    escalations: list[str] = []
    unshelved: list[str] = []
    events: list[Event] = []
    for iv in ctx.store.list_interventions(open_only=True, limit=_BATCH):
        if iv.state not in _TIMED:
            continue
        try:
            before, after = ctx.store.change_intervention(
                iv.id, lambda r: advance(r, policy, now))
        except Exception as exc:  # one bad record must not stall every other escalation
            log.exception("escalation of one intervention failed", id=iv.id,
                          error=str(exc))
            continue
        first = len(events)
        for m in after.history[len(before.history):]:
            if m.to_state is InterventionState.ESCALATED:
                line = f"{after.asset_name} ({after.id}): {m.reason}"
                escalations.append(line)
                events.append(Event(EventKind.ESCALATED, after.id, m.reason, m.at, SYSTEM))
                log.warning("escalated", id=after.id, asset=after.asset, reason=m.reason,
                            owner=after.owner_role, at=m.at.isoformat())
            elif m.from_state is InterventionState.SHELVED:
                unshelved.append(after.id)
                events.append(Event(EventKind.UNSHELVED, after.id, m.reason, m.at, SYSTEM))
        for event in events[first:]:
            ctx.store.add_event(event)
    return TickReport(now, tuple(escalations), tuple(unshelved), tuple(events))


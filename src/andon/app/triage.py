"""Labelling a triage item: a reviewer says what a held-back detection was."""

from __future__ import annotations

from typing import TYPE_CHECKING

from andon.app.context import Change
from andon.auth.access import Permission
from andon.interventions.triage import TriageItem, TriageLabel, TriageVerdict, label_event

if TYPE_CHECKING:
    from andon.app.context import Actor, Context

__all__ = ["label_triage"]


def label_triage(ctx: Context, actor: Actor, item_id: int, verdict: TriageVerdict | str,
                 note: str = "") -> Change[TriageItem]:
    """Label item ``item_id`` real_problem / normal / unsure, kept with who, role and when.

    Needs the ``review`` permission; ``NotFound`` for an unknown item.
    """
    actor.require(Permission.REVIEW)
    label = TriageLabel(item_id, TriageVerdict(verdict), actor.name, actor.role,
                        ctx.clock.now(), note.strip())
    item = ctx.store.label_triage(label)
    event = label_event(label)
    ctx.store.add_event(event)
    return Change(item, (event,))

"""Labelling a triage item: a reviewer says what a held-back detection was."""

from __future__ import annotations

from typing import TYPE_CHECKING

from andon.app.context import Change
from andon.auth.access import Permission
from andon.interventions.triage import (
    TriageItem,
    TriageLabel,
    TriageStatus,
    TriageVerdict,
    label_event,
)

if TYPE_CHECKING:
    from andon.app.context import Actor, Context

__all__ = ["label_triage", "triage_queue"]


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


def triage_queue(ctx: Context, *, status: TriageStatus | str | None = None,
                 limit: int = 200) -> list[tuple[TriageItem, list[TriageLabel]]]:
    """Triage items (open or labelled ones), newest first, each with every label given on it."""
    items = ctx.store.list_triage(status=None if status is None else TriageStatus(status),
                                  limit=limit)
    return [(item, ctx.store.triage_labels(item.id) if item.label is not None else [])
            for item in items]

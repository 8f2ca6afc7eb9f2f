"""What an engineer reads about the edges: link, outbox, heartbeats, models loaded, staleness.

``edge_overview`` gives each edge as it last reported to the central store (its birth,
heartbeat and death documents, kept as ``edge_state`` / ``edge_heartbeat`` events by the
central ingest; ``andon.edge.status``), whether it is stale at the plant's clock (no heartbeat
for three intervals: then its lines' data is stale too), and its recent heartbeats (time,
outbox depth, link) for a small history. It only reads; the surfaces check the caller may
(``READ``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from andon.audit import EventKind
from andon.edge.status import edge_statuses_from_store

if TYPE_CHECKING:
    from datetime import datetime

    from andon.app.context import Context
    from andon.edge.heartbeat import EdgeStatus

__all__ = ["EdgeOverview", "Heartbeat", "edge_overview"]

#: how far back the heartbeat history reaches, and how many heartbeats it keeps at most
HISTORY = timedelta(hours=24)
_MAX_HEARTBEATS = 500


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """One heartbeat as the central store kept it."""

    at: datetime
    buffer_depth: int  # the outbox's depth then
    link: str


@dataclass(frozen=True, slots=True)
class EdgeOverview:
    """One edge now: its last report, whether it is stale, and its recent heartbeats."""

    status: EdgeStatus
    stale: bool
    age: timedelta | None  # since its last document (None: never reported one with a time)
    heartbeats: tuple[Heartbeat, ...]  # oldest first, over ``HISTORY``


def edge_overview(ctx: Context) -> list[EdgeOverview]:
    """Every edge that reported, by id, judged at the context's clock."""
    now = ctx.clock.now()
    out = []
    for status in edge_statuses_from_store(ctx.store):
        events = ctx.store.events(kind=EventKind.EDGE_HEARTBEAT, subject=status.edge_id,
                                  since=now - HISTORY, limit=_MAX_HEARTBEATS)
        beats = [b for b in (_heartbeat(e.at, e.detail) for e in reversed(events))
                 if b is not None]
        age = None if status.last_seen is None else now - status.last_seen
        out.append(EdgeOverview(status, status.stale(now), age, tuple(beats)))
    return out


def _heartbeat(at: datetime, detail: str) -> Heartbeat | None:
    """A heartbeat event's document as a ``Heartbeat`` (None if it cannot be read)."""
    try:
        doc = json.loads(detail)
        return Heartbeat(at, int(doc.get("buffer_depth", 0)), str(doc.get("link", "")))
    except (ValueError, TypeError, AttributeError):
        return None

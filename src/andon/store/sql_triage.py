"""The gate and triage part of ``SqlStore``: episodes, decisions, overflow queue, triage items.

``SqlStore`` inherits ``TriageTables``; it relies on the store's ``_write`` / ``_read``
connections (one writer, see ``andon.store.sql``). A queued episode's intervention is kept in
``gate_queue`` as its JSON document (pydantic reads and writes the ``Intervention``
dataclass, whatever its fields), written and read with its episode, so the queue survives a
restart without touching the ``interventions`` table: a queued intervention is in nobody's
inbox until it is released.
"""

from __future__ import annotations

import json
from functools import cache
from typing import TYPE_CHECKING, Any

from pydantic import TypeAdapter
from sqlalchemy import ColumnElement, Connection, func, select

from andon.errors import NotFound, StoreError
from andon.interventions.fatigue import Verdict
from andon.interventions.gate import EpisodeState, GateEntry, GateEpisode
from andon.interventions.record import Contribution, Intervention
from andon.interventions.triage import (
    TriageItem,
    TriageLabel,
    TriageReason,
    TriageStatus,
    TriageVerdict,
    label_item,
)
from andon.store.schema import (
    GATE_EPISODES,
    GATE_LOG,
    GATE_QUEUE,
    TRIAGE,
    TRIAGE_LABELS,
    as_utc,
)
from andon.store.sql_mixin import SqlMixin

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy import Row

__all__ = ["TriageTables"]


@cache
def _iv_adapter() -> TypeAdapter[Intervention]:
    return TypeAdapter(Intervention)


class TriageTables(SqlMixin):
    """Store methods of the intervention gate and the triage queue (mixed into ``SqlStore``)."""

    # -- episodes (and the overflow queue: a queued episode's record) -------------------------
    def get_episode(self, key: str) -> GateEpisode | None:
        """The gate's episode of a use case/asset key (with its queued record), if any."""
        with self._read() as conn:
            found = _episodes(conn, GATE_EPISODES.c.key == key)
        return found[0] if found else None

    def save_episode(self, episode: GateEpisode) -> None:
        """Insert or replace (by key) an episode; a queued one with its record, atomically."""
        values = {
            "key": episode.key, "position": episode.position, "state": episode.state.value,
            "opened_at": as_utc(episode.opened_at, "opened_at"),
            "last_at": as_utc(episode.last_at, "last_at"), "detections": episode.detections,
            "intervention_id": episode.intervention_id, "triage_id": episode.triage_id,
            "normal_windows": episode.normal_windows,
        }
        queued = episode.queued if episode.state is EpisodeState.QUEUED else None
        if queued is not None and episode.queued_at is None:
            raise StoreError(f"episode {episode.key} is queued without a queued_at")
        with self._write() as conn:
            _drop_queued(conn, GATE_EPISODES.c.key == episode.key)
            conn.execute(GATE_EPISODES.delete().where(GATE_EPISODES.c.key == episode.key))
            conn.execute(GATE_EPISODES.insert().values(**values))
            if queued is not None and episode.queued_at is not None:
                conn.execute(GATE_QUEUE.delete().where(GATE_QUEUE.c.intervention_id == queued.id))
                conn.execute(GATE_QUEUE.insert().values(
                    intervention_id=queued.id, position=episode.position,
                    queued_at=as_utc(episode.queued_at, "queued_at"),
                    document=_iv_adapter().dump_json(queued).decode()))

    def delete_episode(self, key: str) -> None:
        """Forget an episode and its queued record (no-op if absent)."""
        with self._write() as conn:
            _drop_queued(conn, GATE_EPISODES.c.key == key)
            conn.execute(GATE_EPISODES.delete().where(GATE_EPISODES.c.key == key))

    def queued_episodes(self, position: str | None = None) -> list[GateEpisode]:
        """Episodes waiting in an overflow queue (of one position), oldest queued first."""
        where = GATE_EPISODES.c.state == EpisodeState.QUEUED.value
        if position is not None:
            where = where & (GATE_EPISODES.c.position == position)
        with self._read() as conn:
            found = [e for e in _episodes(conn, where) if e.queued_at is not None]
        return sorted(found, key=lambda e: (e.queued_at or e.opened_at, e.key))

    # -- decisions --------------------------------------------------------------------------
    def add_gate_entry(self, entry: GateEntry) -> None:
        """Keep one gate decision."""
        stmt = GATE_LOG.insert().values(
            at=as_utc(entry.at, "gate decision time"), position=entry.position, key=entry.key,
            verdict=entry.verdict.value, reason=entry.reason, intervention_id=entry.intervention_id,
            arrival=entry.arrival,
        )
        with self._write() as conn:
            conn.execute(stmt)

    def gate_times(self, position: str, since: datetime, *, arrivals: bool) -> list[datetime]:
        """Times after ``since``, oldest first, of a position's deliveries (or new arrivals)."""
        c = GATE_LOG.c
        stmt = (select(c.at).where(c.position == position, c.at > as_utc(since, "since"))
                .order_by(c.at, c.id))
        stmt = (stmt.where(c.arrival.is_(True)) if arrivals
                else stmt.where(c.verdict == Verdict.DELIVERED.value))
        with self._read() as conn:
            return list(conn.execute(stmt).scalars())

    def gate_entries(self, *, key: str | None = None, verdict: str | None = None,
                     since: datetime | None = None, limit: int = 200) -> list[GateEntry]:
        """Kept decisions, newest first, optionally of one key, verdict, and after ``since``."""
        c = GATE_LOG.c
        stmt = select(GATE_LOG).order_by(c.at.desc(), c.id.desc()).limit(limit)
        if key is not None:
            stmt = stmt.where(c.key == key)
        if verdict is not None:
            stmt = stmt.where(c.verdict == verdict)
        if since is not None:
            stmt = stmt.where(c.at > as_utc(since, "since"))
        with self._read() as conn:
            return [GateEntry(row.at, row.position, row.key, Verdict(row.verdict), row.reason,
                              row.intervention_id, bool(row.arrival)) for row in conn.execute(stmt)]

    def gate_counts(self, *, since: datetime | None = None) -> dict[tuple[str, str], int]:
        """(position, verdict) -> number of gate decisions (after ``since``)."""
        c = GATE_LOG.c
        stmt = select(c.position, c.verdict, func.count()).group_by(c.position, c.verdict)
        if since is not None:
            stmt = stmt.where(c.at > as_utc(since, "since"))
        with self._read() as conn:
            return {(row[0], row[1]): int(row[2]) for row in conn.execute(stmt)}

    # -- triage -----------------------------------------------------------------------------
    def add_triage(self, item: TriageItem) -> TriageItem:
        """Store a new triage item; returns it with its id."""
        stmt = TRIAGE.insert().values(**_triage_values(item)).returning(TRIAGE.c.id)
        with self._write() as conn:
            new_id = int(conn.execute(stmt).scalar_one())
        return TriageItem(**{**_fields(item), "id": new_id})

    def update_triage(self, item: TriageItem) -> None:
        """Replace a triage item's evidence and counts (by id); ``NotFound`` if none.

        Its status and creation time are left as stored: they belong to the reviewer
        (``label_triage``), and a label given between the gate's read and this write must not
        be undone by it.
        """
        values = _triage_values(item)
        for kept in ("status", "created_at"):
            del values[kept]
        stmt = TRIAGE.update().where(TRIAGE.c.id == item.id).values(**values)
        with self._write() as conn:
            if conn.execute(stmt).rowcount == 0:
                raise NotFound("triage item", item.id)

    def get_triage(self, item_id: int) -> TriageItem:
        """One triage item with its latest label; ``NotFound`` if unknown."""
        with self._read() as conn:
            return _get_triage(conn, item_id)

    def list_triage(self, *, status: TriageStatus | None = None,
                    limit: int = 200) -> list[TriageItem]:
        """Triage items, newest first, optionally of one status, with their latest labels."""
        c = TRIAGE.c
        stmt = select(TRIAGE).order_by(c.created_at.desc(), c.id.desc()).limit(limit)
        if status is not None:
            stmt = stmt.where(c.status == status.value)
        with self._read() as conn:
            rows = list(conn.execute(stmt))
            latest = _latest_labels(conn, [row.id for row in rows])
        return [_triage_from_row(row, latest.get(row.id)) for row in rows]

    def label_triage(self, label: TriageLabel) -> TriageItem:
        """Store a reviewer's label with its provenance and mark the item labelled, atomically.

        ``NotFound`` for an unknown item; ``FeedbackError`` for a label without a reviewer.
        """
        with self._write() as conn:
            item = label_item(_get_triage(conn, label.item_id), label)
            conn.execute(TRIAGE_LABELS.insert().values(
                item_id=label.item_id, verdict=label.verdict.value, by=label.by,
                role=label.role, at=as_utc(label.at, "label time"), note=label.note))
            conn.execute(TRIAGE.update().where(TRIAGE.c.id == item.id).values(
                status=item.status.value, updated_at=as_utc(item.updated_at, "updated_at")))
        return item

    def triage_labels(self, item_id: int) -> list[TriageLabel]:
        """Every label given on a triage item, oldest first."""
        c = TRIAGE_LABELS.c
        stmt = select(TRIAGE_LABELS).where(c.item_id == item_id).order_by(c.id)
        with self._read() as conn:
            return [_label_from_row(row) for row in conn.execute(stmt)]


# -- rows -----------------------------------------------------------------------------------
def _episodes(conn: Connection, where: ColumnElement[bool]) -> list[GateEpisode]:
    """Episodes matching ``where``, each with its queued record (outer join on the queue)."""
    e, q = GATE_EPISODES.c, GATE_QUEUE.c
    stmt = (select(GATE_EPISODES, q.queued_at, q.document)
            .select_from(GATE_EPISODES.outerjoin(GATE_QUEUE,
                                                  q.intervention_id == e.intervention_id))
            .where(where))
    return [GateEpisode(
        key=row.key, position=row.position, state=EpisodeState(row.state),
        opened_at=row.opened_at, last_at=row.last_at, detections=row.detections,
        intervention_id=row.intervention_id, triage_id=row.triage_id,
        normal_windows=row.normal_windows,
        queued=None if row.document is None else _iv_adapter().validate_json(row.document),
        queued_at=row.queued_at) for row in conn.execute(stmt)]


def _drop_queued(conn: Connection, which: ColumnElement[bool]) -> None:
    """Take the queued records of the episodes ``which`` selects off the queue."""
    ids = select(GATE_EPISODES.c.intervention_id).where(which)
    conn.execute(GATE_QUEUE.delete().where(GATE_QUEUE.c.intervention_id.in_(ids)))


def _fields(item: TriageItem) -> dict[str, Any]:
    return {name: getattr(item, name) for name in TriageItem.__dataclass_fields__}


def _triage_values(item: TriageItem) -> dict[str, Any]:
    if not item.reasons:
        raise StoreError(f"triage item for {item.asset} needs at least one reason")
    return {
        "use_case": item.use_case, "site": item.site, "line": item.line, "asset": item.asset,
        "reasons": ",".join(r.value for r in item.reasons), "score": item.score,
        "threshold": item.threshold, "model": item.model, "model_version": item.model_version,
        "window_end": as_utc(item.window_end, "window_end"),
        "why": json.dumps([[c.feature, c.value, c.baseline, c.spread, c.share, c.unit]
                           for c in item.why]),
        "created_at": as_utc(item.created_at, "created_at"),
        "updated_at": as_utc(item.updated_at, "updated_at"),
        "detections": item.detections, "status": item.status.value,
    }


def _get_triage(conn: Connection, item_id: int) -> TriageItem:
    row = conn.execute(select(TRIAGE).where(TRIAGE.c.id == item_id)).one_or_none()
    if row is None:
        raise NotFound("triage item", item_id)
    return _triage_from_row(row, _latest_labels(conn, [item_id]).get(item_id))


def _latest_labels(conn: Connection, ids: list[int]) -> dict[int, TriageLabel]:
    if not ids:
        return {}
    c = TRIAGE_LABELS.c
    newest = (select(func.max(c.id)).where(c.item_id.in_(ids)).group_by(c.item_id)
              .scalar_subquery())
    rows = conn.execute(select(TRIAGE_LABELS).where(c.id.in_(newest)))
    return {row.item_id: _label_from_row(row) for row in rows}


def _label_from_row(row: Row[Any]) -> TriageLabel:
    return TriageLabel(item_id=row.item_id, verdict=TriageVerdict(row.verdict), by=row.by,
                       role=row.role, at=row.at, note=row.note)


def _triage_from_row(row: Row[Any], label: TriageLabel | None) -> TriageItem:
    why = tuple(Contribution(*c) for c in json.loads(row.why))
    return TriageItem(
        id=row.id, use_case=row.use_case, site=row.site, line=row.line, asset=row.asset,
        reasons=tuple(TriageReason(r) for r in row.reasons.split(",") if r),
        score=row.score, threshold=row.threshold, model=row.model,
        model_version=row.model_version, window_end=row.window_end, why=why,
        created_at=row.created_at, updated_at=row.updated_at, detections=row.detections,
        status=TriageStatus(row.status), label=label,
    )

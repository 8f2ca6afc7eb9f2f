"""The ``deliveries`` part of ``SqlStore``: every attempt to hand an intervention to a sink.

``SqlStore`` inherits ``DeliveryTable``; it relies on the store's ``_write`` / ``_read``
connections (one writer, see ``andon.store.sql``). The newest row per (sink, intervention) is
the delivery state the dispatcher (``andon.sinks.dispatch``) resumes from after a restart.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from andon.store.base import Delivery
from andon.store.schema import DELIVERIES, as_utc
from andon.store.sql_mixin import SqlMixin

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sqlalchemy import Row

__all__ = ["DeliveryTable"]

_MAX_ERROR = 500  # characters of one error line kept


class DeliveryTable(SqlMixin):
    """Store methods for delivery attempts (mixed into ``SqlStore``)."""

    def record_deliveries(self, rows: Sequence[Delivery]) -> None:
        """Append delivery attempts in one transaction (errors cut to one line)."""
        if not rows:
            return
        values = [_to_row(d) for d in rows]
        with self._write() as conn:
            conn.execute(DELIVERIES.insert(), values)

    def delivery_states(self, sink: str,
                        intervention_ids: Sequence[str] | None = None) -> dict[str, Delivery]:
        """Intervention id -> its newest delivery attempt to ``sink`` (of these ids only)."""
        c = DELIVERIES.c
        newest = select(func.max(c.id)).where(c.sink == sink).group_by(c.intervention_id)
        if intervention_ids is not None:
            if not intervention_ids:
                return {}
            newest = newest.where(c.intervention_id.in_(list(intervention_ids)))
        stmt = select(DELIVERIES).where(c.id.in_(newest.scalar_subquery()))
        with self._read() as conn:
            return {row.intervention_id: _from_row(row) for row in conn.execute(stmt)}

    def undelivered(self, sink: str, *, limit: int = 500) -> list[str]:
        """Ids of interventions whose newest attempt to ``sink`` failed, oldest failure first."""
        c = DELIVERIES.c
        newest = (select(func.max(c.id)).where(c.sink == sink).group_by(c.intervention_id)
                  .scalar_subquery())
        stmt = (select(c.intervention_id).where(c.id.in_(newest), c.ok.is_(False))
                .order_by(c.id).limit(limit))
        with self._read() as conn:
            return [str(v) for v in conn.execute(stmt).scalars()]

    def deliveries(self, *, sink: str | None = None, intervention_id: str | None = None,
                   limit: int = 200, ok: bool | None = None) -> list[Delivery]:
        """Delivery attempts, newest first, optionally of one sink, intervention and result."""
        c = DELIVERIES.c
        stmt = select(DELIVERIES).order_by(c.id.desc()).limit(limit)
        if sink is not None:
            stmt = stmt.where(c.sink == sink)
        if intervention_id is not None:
            stmt = stmt.where(c.intervention_id == intervention_id)
        if ok is not None:
            stmt = stmt.where(c.ok.is_(ok))
        with self._read() as conn:
            return [_from_row(row) for row in conn.execute(stmt)]

    def external_id(self, sink: str, intervention_id: str) -> str | None:
        """The newest external id (e.g. work order) a sink reported for an intervention."""
        c = DELIVERIES.c
        stmt = (select(c.external_id)
                .where(c.sink == sink, c.intervention_id == intervention_id,
                       c.external_id.is_not(None))
                .order_by(c.id.desc()).limit(1))
        with self._read() as conn:
            found = conn.execute(stmt).scalar_one_or_none()
        return None if found is None else str(found)


def _to_row(d: Delivery) -> dict[str, Any]:
    error = " ".join(d.error.split())[:_MAX_ERROR]
    return {
        "sink": d.sink, "intervention_id": d.intervention_id, "dedup_key": d.dedup_key,
        "version": d.version, "digest": d.digest, "attempt": d.attempt,
        "at": as_utc(d.at, "delivery time"), "ok": d.ok, "http_status": d.http_status,
        "error": error, "external_id": d.external_id,
    }


def _from_row(row: Row[Any]) -> Delivery:
    return Delivery(
        sink=row.sink, intervention_id=row.intervention_id, dedup_key=row.dedup_key,
        version=row.version, digest=row.digest, attempt=row.attempt, at=row.at, ok=row.ok,
        http_status=row.http_status, error=row.error, external_id=row.external_id,
    )

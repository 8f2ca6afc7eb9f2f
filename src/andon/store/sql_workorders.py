"""The ``work_orders`` part of ``SqlStore``: work orders and maintenance logs from IT.

``SqlStore`` inherits ``WorkOrderTable``; it relies on the store's ``_write`` / ``_read``
connections (one writer, see ``andon.store.sql``) and ``_insert`` (the dialect's INSERT with
``ON CONFLICT``). Imports are idempotent by the CMMS's external id: importing the same export
twice changes nothing; a re-exported order with a new state (closed, failure confirmed)
replaces the stored one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from andon.feedback.workorders import WorkOrder, WorkType
from andon.store.schema import WORK_ORDERS, as_utc
from andon.store.sql_mixin import SqlMixin

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import datetime

    from sqlalchemy import Row

__all__ = ["WorkOrderTable"]

_KEY = "external_id"
#: external ids looked up per query (SQLite allows 32,766 bound parameters, older ones 999)
_IN_CHUNK = 500


class WorkOrderTable(SqlMixin):
    """Store methods for work orders (mixed into ``SqlStore``)."""

    def upsert_work_orders(self, orders: Sequence[WorkOrder], at: datetime) -> tuple[int, int]:
        """Insert or replace work orders by external id in one transaction; (new, updated).

        An order identical to the stored one counts as neither. Within ``orders`` the last
        occurrence of an external id wins.
        """
        latest = {o.external_id: o for o in orders}
        if not latest:
            return 0, 0
        at = as_utc(at, "import time")
        rows = [_to_row(o, at) for o in latest.values()]
        c = WORK_ORDERS.c
        new = updated = 0
        with self._write() as conn:
            ids = list(latest)
            stored = {row.external_id: _from_row(row)
                      for i in range(0, len(ids), _IN_CHUNK)  # SQLite caps bound parameters
                      for row in conn.execute(select(WORK_ORDERS).where(
                          c.external_id.in_(ids[i:i + _IN_CHUNK])))}
            changed = []
            for order, row in zip(latest.values(), rows, strict=True):
                before = stored.get(order.external_id)
                if before is None:
                    new += 1
                elif _same(before, order):
                    continue
                else:
                    updated += 1
                changed.append(row)
            if changed:
                stmt = self._insert(WORK_ORDERS)
                excluded = stmt.excluded
                stmt = stmt.on_conflict_do_update(
                    index_elements=[_KEY],
                    set_={k: excluded[k] for k in rows[0] if k != _KEY},
                )
                conn.execute(stmt, changed)
        return new, updated

    def work_orders(self, *, asset: str | None = None, start: datetime | None = None,
                    end: datetime | None = None, failure_confirmed: bool | None = None,
                    limit: int | None = 1000) -> list[WorkOrder]:
        """Work orders opened in ``[start, end)``, oldest first (by opened_at, external id)."""
        c = WORK_ORDERS.c
        stmt = select(WORK_ORDERS).order_by(c.opened_at, c.external_id)
        if asset is not None:
            stmt = stmt.where(c.asset == asset)
        if start is not None:
            stmt = stmt.where(c.opened_at >= as_utc(start, "start"))
        if end is not None:
            stmt = stmt.where(c.opened_at < as_utc(end, "end"))
        if failure_confirmed is not None:
            stmt = stmt.where(c.failure_confirmed.is_(failure_confirmed))
        if limit is not None:
            stmt = stmt.limit(limit)
        with self._read() as conn:
            return [_from_row(row) for row in conn.execute(stmt)]


def _same(a: WorkOrder, b: WorkOrder) -> bool:
    """Equal apart from where and when they were imported."""
    keep = ("external_id", "asset", "opened_at", "closed_at", "type", "failure_confirmed",
            "failure_mode", "failure_code", "description")
    return all(getattr(a, k) == getattr(b, k) for k in keep)


def _to_row(o: WorkOrder, at: datetime) -> dict[str, Any]:
    return {
        "external_id": o.external_id, "asset": o.asset,
        "opened_at": as_utc(o.opened_at, "opened_at"),
        "closed_at": None if o.closed_at is None else as_utc(o.closed_at, "closed_at"),
        "type": WorkType(o.type).value, "failure_confirmed": o.failure_confirmed,
        "failure_mode": o.failure_mode, "failure_code": o.failure_code,
        "description": o.description, "source": o.source, "imported_at": at,
    }


def _from_row(row: Row[Any]) -> WorkOrder:
    return WorkOrder(
        external_id=row.external_id, asset=row.asset, opened_at=row.opened_at,
        type=WorkType(row.type), failure_confirmed=bool(row.failure_confirmed),
        closed_at=row.closed_at, failure_mode=row.failure_mode,
        failure_code=row.failure_code, description=row.description, source=row.source,
        imported_at=row.imported_at,
    )

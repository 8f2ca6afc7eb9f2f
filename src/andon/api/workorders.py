"""``GET /api/work-orders``: work orders and maintenance logs imported from IT.

Imported with ``andon import work-orders`` (``andon.feedback.workorders``), they say what
maintenance found on which asset and when, e.g. "failure confirmed on P-101 at 14:20": the
ground truth that reports, labels and replay lead times are joined to. Reading them needs
``READ``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Self

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from andon.auth.access import Permission
from andon.feedback.workorders import WorkOrder
from andon.http.auth import Caller, needs
from andon.store.base import Store

__all__ = ["WorkOrderOut", "work_orders_router"]

Reader = Annotated[Caller, Depends(needs(Permission.READ))]


class WorkOrderOut(BaseModel):
    """One imported work order."""

    external_id: str = Field(description="the CMMS's id")
    asset: str = Field(description="asset id of the spec")
    opened_at: datetime
    closed_at: datetime | None
    type: str = Field(description="corrective, preventive or inspection")
    failure_confirmed: bool = Field(description="a technician confirmed a failure")
    failure_mode: str
    failure_code: str
    description: str
    source: str = Field(description="file it was imported from")
    imported_at: datetime | None

    @classmethod
    def of(cls, o: WorkOrder) -> Self:
        """Describe one work order."""
        return cls(external_id=o.external_id, asset=o.asset, opened_at=o.opened_at,
                   closed_at=o.closed_at, type=o.type.value,
                   failure_confirmed=o.failure_confirmed, failure_mode=o.failure_mode,
                   failure_code=o.failure_code, description=o.description, source=o.source,
                   imported_at=o.imported_at)


def _aware(when: datetime | None) -> datetime | None:
    """A time without an offset is read as UTC (as the other list routes do)."""
    if when is not None and when.tzinfo is None:
        return when.replace(tzinfo=UTC)
    return when


def work_orders_router(store: Store) -> APIRouter:
    """Build the work-order routes over ``store``."""
    router = APIRouter(prefix="/api", tags=["api"])

    @router.get("/work-orders")
    def list_work_orders(
        caller: Reader,
        *,
        asset: Annotated[str | None, Query(description="only this asset id")] = None,
        since: Annotated[datetime | None, Query(description="opened at or after (ISO 8601)")]
        = None,
        until: Annotated[datetime | None, Query(description="opened before (ISO 8601)")]
        = None,
        failure_confirmed: Annotated[bool | None, Query(
            description="only orders with (true) or without (false) a confirmed failure")]
        = None,
        limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
    ) -> list[WorkOrderOut]:
        """List imported work orders, oldest first by opening time."""
        del caller
        orders = store.work_orders(asset=asset, start=_aware(since), end=_aware(until),
                                   failure_confirmed=failure_confirmed, limit=limit)
        return [WorkOrderOut.of(o) for o in orders]

    return router

"""CMMS sink: each intervention becomes one work order, and a completed work order closes it.

Modelled on the Atlas CMMS REST API (``/work-orders``, statuses ``OPEN``, ``IN_PROGRESS``,
``ON_HOLD``, ``COMPLETE``; priorities ``NONE``/``LOW``/``MEDIUM``/``HIGH``) and on Odoo's
``maintenance.request`` (stages New Request / In Progress / Repaired / Scrap, priority
0-3, ``schedule_date``, ``equipment_id``). The subset Andon uses (``andon.testing.cmms`` serves
it on loopback for tests and the demo):

=====================================  ==============================================
request                                what
=====================================  ==============================================
``GET /work-orders?externalRef=KEY``   the work orders carrying Andon's dedup key
``POST /work-orders``                  create one (201, the work order with its ``id``)
``GET /work-orders/{id}``              read one (status, completion, notes)
``PATCH /work-orders/{id}``            change fields (status, due date, priority, text)
=====================================  ==============================================

Field mapping (Andon document → work order; Odoo ``maintenance.request`` in brackets):

==============  =============================================  ==============================
work order      from the intervention document                  Odoo
==============  =============================================  ==============================
title           ``"{asset_name}: {action}"`` (≤ 200 chars)      ``name``
asset           ``{"customId": asset, "name": asset_name}``     ``equipment_id`` (by ref)
priority        critical, high → HIGH; medium → MEDIUM;          ``priority`` 3, 2, 1, 0
                low → LOW
dueDate         ``deadline`` (ISO 8601, UTC)                     ``schedule_date``
description     action, deadline label, why (top features),     ``description``
                model + version, score / threshold, Andon id
status          see the state table below                        ``stage_id``
externalRef     ``dedup_key`` (the idempotency anchor)           a custom ``x_andon_ref``
==============  =============================================  ==============================

Statuses both ways:

===================================  ==============  =====================================
intervention state                   → work order    work order → intervention
===================================  ==============  =====================================
new, escalated, acknowledged         OPEN            OPEN: no change
in_progress                          IN_PROGRESS     IN_PROGRESS: in_progress
deferred, shelved                    ON_HOLD         ON_HOLD: deferred (reason from notes)
done                                 COMPLETE        COMPLETE: done + outcome (closes it)
dismissed, expired                   CANCELLED       CANCELLED: dismissed (reason from notes)
===================================  ==============  =====================================

(Atlas has no CANCELLED: there a dismissed intervention archives the work order; Odoo's
"Scrap" stage plays that part.)

Idempotent: the dispatcher hands the sink the work-order id it recorded before
(``Outgoing.external_id``); without one, the sink looks the dedup key up (``externalRef``)
before creating, so a crash between "created" and "recorded" does not make a second work order.
A work order closed in the CMMS (COMPLETE or CANCELLED) never has its status overwritten from
Andon: the poll brings the closure back instead (``CmmsSink.poll``).

Spec: ``- type: cmms`` with ``url``, ``token_env`` (optional), ``timeout`` (10 s) and ``poll``
(60 s: how often ``andon serve`` reads the work orders back).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, Field, field_validator

from andon.clock import Clock, SystemClock
from andon.feedback.workorders import (
    STATE_TO_STATUS,
    WorkOrderChange,
    WorkOrderStatus,
)
from andon.interventions.lifecycle import Priority
from andon.sinks.base import (
    Attempt,
    DeliveryResult,
    Outgoing,
    document_dedup_key,
    document_failure,
    document_priority,
    document_state,
    http_session,
)
from andon.sinks.plugin import SinkContext, SinkPlugin, http_url, optional_env_name, seconds
from andon.text import eng, one_line

__all__ = ["PLUGIN", "PRIORITY_TO_WORK_ORDER", "CmmsConfig", "CmmsSink", "work_order_fields"]


#: intervention priority -> Atlas work-order priority
PRIORITY_TO_WORK_ORDER: dict[Priority, str] = {
    Priority.CRITICAL: "HIGH",
    Priority.HIGH: "HIGH",
    Priority.MEDIUM: "MEDIUM",
    Priority.LOW: "LOW",
}

_CLOSED = frozenset({WorkOrderStatus.COMPLETE, WorkOrderStatus.CANCELLED})
_TITLE_MAX = 200


def work_order_fields(document: Mapping[str, Any]) -> dict[str, Any]:
    """The work-order fields for an intervention document (the mapping table above)."""
    where, action, evidence = document["where"], document["action"], document["evidence"]
    why = "; ".join(str(w.get("text", w.get("feature", ""))) for w in evidence.get("why", []))
    title = f"{where['asset_name']}: {action['text']}"
    lines = [
        str(action["text"]),
        f"Deadline: {action['deadline']} ({action.get('deadline_label', '')})",
        f"Failure: {document_failure(document)}",
        f"Why: {why}" if why else "",
        (f"Model: {evidence['model']} v{evidence['model_version']}, score "
         f"{eng(float(evidence['score']))} (threshold {eng(float(evidence['threshold']))})"),
        f"Andon intervention: {document['id']}",
    ]
    return {
        "title": title if len(title) <= _TITLE_MAX else title[: _TITLE_MAX - 3] + "...",
        "asset": {"customId": where["asset"], "name": where["asset_name"]},
        "priority": PRIORITY_TO_WORK_ORDER[document_priority(document)],
        "dueDate": action["deadline"],
        "description": "\n".join(line for line in lines if line),
        "status": STATE_TO_STATUS[document_state(document)].value,
        "externalRef": document_dedup_key(document),
    }


class CmmsSink:
    """Create and update one work order per intervention in an Atlas-like CMMS."""

    def __init__(self, name: str, base_url: str, token: str | None = None, *,
                 timeout_s: float = 10.0, poll_s: float = 60.0, clock: Clock | None = None,
                 client: httpx.AsyncClient | None = None) -> None:
        """``poll_s``: how often the delivery service reads the work orders back."""
        self._name = name
        self.base_url = base_url.rstrip("/")
        headers = {"Accept": "application/json", "User-Agent": "andon-cmms/1"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._clock = clock or SystemClock()
        self._given = client
        self._headers = headers
        self.timeout_s = timeout_s
        self.poll_s = poll_s

    def __repr__(self) -> str:
        return f"CmmsSink({self._name!r}, {self.base_url!r}, token=***)"

    @property
    def name(self) -> str:
        """The sink's name in ``deliveries``."""
        return self._name

    async def deliver(self, item: Outgoing) -> DeliveryResult:
        """Create the work order (once per dedup key) or bring it up to date."""
        now = self._clock.now()
        try:
            async with http_session(self.timeout_s, self._given) as http:
                code, wo_id = await self._upsert(http, item)
        except _Failed as failed:
            return DeliveryResult((Attempt(now, ok=False, http_status=failed.status,
                                           error=failed.reason),))
        return DeliveryResult((Attempt(now, ok=True, http_status=code),), external_id=wo_id)

    async def _upsert(self, http: httpx.AsyncClient, item: Outgoing) -> tuple[int, str]:
        fields = work_order_fields(item.document)
        wo_id = item.external_id or await self._find(http, fields["externalRef"])
        if wo_id is None:
            code, created = await self._request(http, "POST", "/work-orders", json=fields)
            return code, str(created["id"])
        _, current = await self._request(http, "GET", f"/work-orders/{wo_id}")
        update = {k: v for k, v in fields.items() if k != "externalRef"}
        if _status(current) in _CLOSED:
            update.pop("status")  # closed in the CMMS: the poll brings that back instead
        code, _ = await self._request(http, "PATCH", f"/work-orders/{wo_id}", json=update)
        return code, wo_id

    async def poll(self, work_orders: Sequence[tuple[str, str]]) -> list[WorkOrderChange]:
        """Read each (intervention id, work-order id); report those not OPEN.

        A work order that cannot be read is skipped (the next poll tries again).
        """
        changes: list[WorkOrderChange] = []
        async with http_session(self.timeout_s, self._given) as http:
            for intervention_id, wo_id in work_orders:
                change = await self._read_back(http, intervention_id, wo_id)
                if change is not None:
                    changes.append(change)
        return changes

    async def _read_back(self, http: httpx.AsyncClient, intervention_id: str,
                         wo_id: str) -> WorkOrderChange | None:
        try:
            _, wo = await self._request(http, "GET", f"/work-orders/{wo_id}")
        except _Failed:
            return None
        status = _status(wo)
        if status is None or status is WorkOrderStatus.OPEN:
            return None
        at = wo.get("completedOn") or wo.get("updatedAt")
        return WorkOrderChange(
            intervention_id=intervention_id, work_order_id=wo_id, status=status,
            note=one_line(str(wo.get("feedback") or wo.get("notes") or ""), 1000),
            by=str(wo.get("completedBy") or ""),
            at=_parse_time(at) if isinstance(at, str) else None,
            outcome=str(wo.get("outcome") or ""),
        )

    async def _find(self, http: httpx.AsyncClient, external_ref: str) -> str | None:
        _, found = await self._request(http, "GET", "/work-orders",
                                       params={"externalRef": external_ref})
        items = found if isinstance(found, list) else found.get("content", [])
        return str(items[0]["id"]) if items else None

    async def _request(self, http: httpx.AsyncClient, method: str, path: str,
                       **kwargs: Any) -> tuple[int, Any]:
        url = f"{self.base_url}{path}"
        try:
            response = await http.request(method, url, headers=self._headers,
                                          timeout=self.timeout_s, **kwargs)
        except httpx.TimeoutException:
            raise _Failed(f"{method} {path}: timed out after {self.timeout_s:g}s") from None
        except httpx.HTTPError as exc:
            raise _Failed(one_line(f"{method} {path}: {type(exc).__name__}: {exc}")) from None
        if response.status_code >= httpx.codes.MULTIPLE_CHOICES:
            raise _Failed(one_line(f"{method} {path}: HTTP {response.status_code}: "
                                   f"{response.text}", 200), response.status_code)
        try:
            return response.status_code, response.json()
        except ValueError:
            raise _Failed(f"{method} {path}: the CMMS answered with something not JSON",
                          response.status_code) from None


class _Failed(Exception):
    def __init__(self, reason: str, status: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


def _status(work_order: Any) -> WorkOrderStatus | None:
    value = work_order.get("status") if isinstance(work_order, dict) else None
    try:
        return WorkOrderStatus(str(value).upper())
    except ValueError:
        return None


def _parse_time(text: str) -> datetime | None:
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return None
    return when if when.tzinfo is not None else None


class CmmsConfig(BaseModel):
    """A CMMS (Atlas-like work-order API): one work order per intervention."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    url: str = Field(description="base URL of the work-order API")
    token_env: str | None = Field(default=None,
                                  description="environment variable holding a bearer token")
    timeout: float = Field(default=10.0, description="per request, e.g. '10s'")
    poll: float = Field(default=60.0, description="how often work-order status is read back")

    _url = field_validator("url")(http_url)
    _env = field_validator("token_env")(optional_env_name)
    _durations = field_validator("timeout", "poll", mode="before")(seconds)


def _build(config: CmmsConfig, context: SinkContext) -> CmmsSink:
    token = (None if config.token_env is None
             else context.secret(config.token_env, "the CMMS API token"))
    return CmmsSink(context.name, config.url, token, timeout_s=config.timeout,
                    poll_s=config.poll, clock=context.clock)


PLUGIN = SinkPlugin(name="cmms", summary="One work order per intervention in an Atlas-like "
                    "CMMS; completed work orders close it.", config=CmmsConfig, build=_build)

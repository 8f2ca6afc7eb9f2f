"""Reading edges' state: from their retained topics on a broker, or from the central store.

Both give ``EdgeStatus`` records (``andon.edge.heartbeat``): link state, outbox depth, dropped
counts, models, last heartbeat, and whether it is stale (no heartbeat for 3 intervals).
"""

from __future__ import annotations

import json
from typing import Any

from andon.connectors.mqtt import MqttClient
from andon.edge.heartbeat import (
    STATE_EVENT_KINDS,
    EdgeStatus,
    statuses_from_documents,
    statuses_from_events,
)
from andon.namespace.topics import edge_filter
from andon.store.base import Store

__all__ = ["edge_statuses_from_broker", "edge_statuses_from_store"]


async def edge_statuses_from_broker(url: str, enterprise: str = "+") -> list[EdgeStatus]:
    """Subscribe to every edge's retained state and heartbeat topics; bounded in time.

    The broker sends retained messages right after acknowledging a subscription, so once our
    own probe round trip (``MqttClient.subscribed``, at most ~10 s) is back, all are here.
    """
    docs: list[dict[str, Any]] = []

    def on_message(_topic: str, payload: bytes) -> None:
        try:
            doc = json.loads(payload)
        except ValueError:
            return
        if isinstance(doc, dict):
            docs.append(doc)

    client = MqttClient(url, on_message=on_message,
                        subscriptions=[edge_filter(enterprise, "state"),
                                       edge_filter(enterprise, "heartbeat")])
    await client.connect()
    try:
        await client.subscribed()
    finally:
        await client.disconnect()
    return statuses_from_documents(docs)


def edge_statuses_from_store(store: Store, limit: int = 2000) -> list[EdgeStatus]:
    """Statuses from the ``edge_state`` and ``edge_heartbeat`` events edges write."""
    events = [e for kind in STATE_EVENT_KINDS for e in store.events(kind=kind, limit=limit)]
    return statuses_from_events(events)

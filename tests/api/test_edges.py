"""``GET /api/edges``: each edge as it last reported, stale after three missed heartbeats."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import TYPE_CHECKING

from andon.audit import Event
from andon.edge.heartbeat import EdgeIdentity, edge_document
from andon.testing.factories import T0

if TYPE_CHECKING:
    from datetime import datetime

    from andon.store import SqlStore
    from api.conftest import Login, TestClient


def _report(store: SqlStore, edge_id: str, kind: str, at: datetime, *, session: str = "s1",
            link: str = "online", depth: int = 0) -> None:
    doc = edge_document(EdgeIdentity(edge_id, "acme", "c" * 64, 10.0), kind, at=at, link=link,
                        buffer_depth=depth, dropped={"event": 2} if depth else {},
                        models={"pump-bearing": "pump-bearing v3"},
                        extra={"session": session})
    event_kind = "edge_heartbeat" if kind == "heartbeat" else "edge_state"
    store.add_event(Event(event_kind, edge_id, json.dumps(doc), at))


def test_edges_report_link_buffer_models_and_staleness(
    client: TestClient, store: SqlStore, logins: dict[str, Login],
) -> None:
    _report(store, "e-fresh", "birth", T0 - timedelta(seconds=65))
    _report(store, "e-fresh", "heartbeat", T0 - timedelta(seconds=5), link="buffering", depth=7)
    _report(store, "e-silent", "birth", T0 - timedelta(seconds=120))
    _report(store, "e-silent", "heartbeat", T0 - timedelta(seconds=31))
    _report(store, "e-stopped", "heartbeat", T0 - timedelta(seconds=8))
    _report(store, "e-stopped", "death", T0 - timedelta(seconds=2))

    response = client.get("/api/edges", headers=logins["viewer"].headers)
    assert response.status_code == 200, response.text
    edges = {e["edge_id"]: e for e in response.json()}
    assert list(edges) == ["e-fresh", "e-silent", "e-stopped"]
    fresh = edges["e-fresh"]
    assert (fresh["status"], fresh["link"], fresh["buffer_depth"], fresh["stale"]) == (
        "online", "buffering", 7, False)
    assert fresh["dropped"] == {"event": 2}
    assert fresh["models"] == {"pump-bearing": "pump-bearing v3"}
    assert fresh["heartbeat_s"] == 10.0
    assert edges["e-silent"]["stale"] is True  # 31 s > 3 x 10 s
    assert edges["e-stopped"]["status"] == "offline"


def test_no_edges_is_an_empty_list(client: TestClient, logins: dict[str, Login]) -> None:
    response = client.get("/api/edges", headers=logins["viewer"].headers)
    assert response.json() == []

"""The central side marks an edge stale when its heartbeats stop, and the data it serves too.

Heartbeats reach the central store through the ingest (as ``andon serve --broker`` does);
the clock is a ``ManualClock``: three missed intervals make the edge stale in ``GET
/api/edges`` and its assets' ``GET /api/assets/{asset}/latest`` say ``stale: true``; a fresh
heartbeat clears both.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from andon.api import create_app
from andon.clock import ManualClock, to_ms
from andon.edge.heartbeat import EdgeIdentity, edge_document
from andon.namespace.sample import Quality, Sample
from andon.namespace.topics import TagAddress, edge_topic
from andon.services.central import CentralIngest
from andon.spec import PlantSpec
from andon.store import SqlStore, open_store

with warnings.catch_warnings():  # as tests/api/conftest.py: Starlette's notice about httpx2
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

from andon.testing.factories import T0, add_token, add_user

ADDRESS = TagAddress("acme", "ghent", "utilities", "cooling-water", "p-101", "vibration")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqlStore]:
    s = open_store(f"sqlite:///{tmp_path / 'central.db'}")
    yield s
    s.close()


def _beat(ingest: CentralIngest, clock: ManualClock, kind: str = "heartbeat") -> None:
    doc = edge_document(EdgeIdentity("e-cw", "acme", "c" * 64, 10.0), kind, at=clock.now(),
                        link="online", buffer_depth=0, dropped={}, models={},
                        extra={"lines": ["cooling-water"], "assets": ["p-101", "p-102"],
                               "session": "s1"})
    leaf = "state" if kind == "birth" else "heartbeat"
    ingest.on_message(edge_topic("acme", "e-cw", leaf), json.dumps(doc).encode())


def test_silent_edge_and_its_data_turn_stale(store: SqlStore, demo_spec: PlantSpec) -> None:
    clock = ManualClock(T0)
    ingest = CentralIngest(store, clock)
    add_user(store, "viewer", access="viewer")
    auth = {"Authorization": f"Bearer {add_token(store, 'viewer', None)}"}
    store.add_samples([
        Sample(ADDRESS, 2.5, "mm/s", Quality.GOOD, to_ms(T0) - 20_000, 1, "plc-a"),
        Sample(ADDRESS, 2.7, "mm/s", Quality.UNCERTAIN, to_ms(T0) - 10_000, 2, "plc-a"),
    ], to_ms(T0))
    _beat(ingest, clock, "birth")
    with TestClient(create_app(store, demo_spec, clock=clock)) as http:
        def edge() -> dict[str, object]:
            [only] = http.get("/api/edges", headers=auth).json()
            return dict(only)

        def latest(asset: str = "p-101") -> dict[str, object]:
            response = http.get(f"/api/assets/{asset}/latest", headers=auth)
            assert response.status_code == 200, response.text
            return dict(response.json())

        assert edge()["stale"] is False
        assert edge()["lines"] == ["cooling-water"]
        assert edge()["assets"] == ["p-101", "p-102"]
        fresh = latest()
        assert fresh["stale"] is False
        assert fresh["edge_id"] == "e-cw"
        assert fresh["tags"] == [{"tag": "vibration", "value": 2.7, "unit": "mm/s",
                                  "quality": "uncertain", "ts": "2026-03-02T06:59:50Z",
                                  "seq": 2, "source": "plc-a"}]

        clock.advance(30)  # exactly three intervals: not yet
        assert edge()["stale"] is False
        clock.advance(1)
        assert edge()["stale"] is True
        assert latest()["stale"] is True
        assert latest("p-102")["stale"] is True
        assert latest("k-104")["stale"] is True, "same line: served by the same edge"
        other = latest("pr-201")  # press line: served by no edge that reported
        assert other["stale"] is True
        assert other["edge_id"] is None

        _beat(ingest, clock)
        assert edge()["stale"] is False
        assert latest()["stale"] is False
        assert http.get("/api/assets/nope/latest", headers=auth).status_code == 404
        assert http.get("/api/assets/p-101/latest").status_code == 401


def test_latest_looks_back_until_each_tag_has_its_newest_value(
        store: SqlStore, demo_spec: PlantSpec) -> None:
    """A tag silent for an hour still shows its newest value, not an older one."""
    add_user(store, "viewer", access="viewer")
    auth = {"Authorization": f"Bearer {add_token(store, 'viewer', None)}"}
    temperature = TagAddress("acme", "ghent", "utilities", "cooling-water", "p-101",
                             "bearing_temp")
    store.add_samples([
        Sample(temperature, 40.0, "degC", Quality.GOOD, to_ms(T0) - 7_200_000, 1, "plc-a"),
        Sample(temperature, 41.0, "degC", Quality.GOOD, to_ms(T0) - 3_600_000, 2, "plc-a"),
        Sample(ADDRESS, 2.5, "mm/s", Quality.GOOD, to_ms(T0) - 3_000_000, 3, "plc-a"),
        Sample(ADDRESS, 2.7, "mm/s", Quality.GOOD, to_ms(T0) - 10_000, 4, "plc-a"),
    ], to_ms(T0))
    with TestClient(create_app(store, demo_spec, clock=ManualClock(T0))) as http:
        response = http.get("/api/assets/p-101/latest", headers=auth)
    assert response.status_code == 200, response.text
    values = {t["tag"]: t["value"] for t in response.json()["tags"]}
    assert values["vibration"] == 2.7
    assert values["bearing_temp"] == 41.0

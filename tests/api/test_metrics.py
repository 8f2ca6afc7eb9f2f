"""``GET /metrics``: who may scrape, what it counts, and that its labels stay bounded and clean.

The app under test is the real one over a SQLite store; the exposition is parsed with
``prometheus_client``'s own parser, as a scraper would read it. The central ingest is fed the
items a real edge outbox makes (``Forwarder`` over an ``Outbox``), one of them carrying an
unreadable sample.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import TYPE_CHECKING

import pytest
from prometheus_client.parser import text_string_to_metric_families

from andon.api import create_app
from andon.audit import Event
from andon.clock import ManualClock, to_ms
from andon.contracts import Rule, quarantined_message
from andon.edge import Outbox
from andon.edge.forward import Forwarder
from andon.edge.heartbeat import EdgeIdentity, edge_document
from andon.interventions.lifecycle import InterventionState
from andon.namespace.sample import Quality, Sample
from andon.namespace.topics import TagAddress
from andon.services.central import CentralIngest
from andon.services.metrics import MAX_EDGES, Metrics
from andon.testing.factories import T0, make_intervention
from api.conftest import Login, TestClient
from edge.faults import OutboxSender

if TYPE_CHECKING:
    from andon.spec import PlantSpec
    from andon.store import SqlStore

ADDRESS = TagAddress("acme", "ghent", "utilities", "cooling-water", "p-101", "vibration")


def scrape(client: TestClient, login: Login) -> dict[tuple[str, tuple[tuple[str, str], ...]],
                                                    float]:
    """Every sample of ``/metrics`` as {(name, sorted labels): value}."""
    response = client.get("/metrics", headers=login.headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples


def value(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str,
          **labels: str) -> float | None:
    return samples.get((name, tuple(sorted(labels.items()))))


def test_a_scrape_needs_a_token_with_the_read_permission(
    client: TestClient, logins: dict[str, Login],
) -> None:
    refused = client.get("/metrics")
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"] == "Bearer"
    assert "error" in refused.json()  # a program's answer, not the login page
    bad = client.get("/metrics", headers={"Authorization": "Bearer andon_nope"})
    assert bad.status_code == 401
    assert client.get("/metrics", headers=logins["viewer"].headers).status_code == 200


def test_openmetrics_is_served_to_a_scraper_that_asks_for_it_first(
    client: TestClient, logins: dict[str, Login],
) -> None:
    accept = ("application/openmetrics-text;version=1.0.0,application/openmetrics-text;"
              "version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1")  # Prometheus 2
    response = client.get("/metrics", headers={**logins["viewer"].headers, "Accept": accept})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/openmetrics-text")
    assert response.text.rstrip().endswith("# EOF")


def test_requests_are_counted_by_route_template_never_by_raw_path(
    client: TestClient, logins: dict[str, Login], store: SqlStore,
) -> None:
    viewer = logins["viewer"]
    for n in range(3):
        store.save_intervention(make_intervention(f"iv-secret-{n}"))
        assert client.get(f"/api/interventions/iv-secret-{n}",
                          headers=viewer.headers).status_code == 200
    assert client.get("/api/interventions/iv-unknown", headers=viewer.headers).status_code == 404
    assert client.get("/no/such/page-with-a-secret-token").status_code == 404
    assert client.get("/static/andon.css").status_code == 200
    assert client.request("BREW", "/inbox").status_code == 405
    assert client.get("/api/recommendations", headers=viewer.headers).status_code == 200  # alias
    got = scrape(client, viewer)
    route = "/api/interventions/{intervention_id}"
    count = "andon_http_requests_total"
    assert value(got, count, route=route, method="GET", status="200") == 3
    assert value(got, count, route=route, method="GET", status="404") == 1
    assert value(got, count, route="(unmatched)", method="GET", status="404") == 1
    assert value(got, count, route="/static/{path}", method="GET", status="200") == 1
    assert value(got, count, route="/inbox", method="other", status="405") == 1
    assert value(got, count, route="/api/interventions", method="GET", status="200") == 1
    assert value(got, "andon_http_request_duration_seconds_count", route=route,
                 method="GET") == 4
    text = client.get("/metrics", headers=viewer.headers).text
    for leaked in ("iv-secret", "page-with-a-secret-token", viewer.token, "viewer",
                   "recommendations"):
        assert leaked not in text, leaked


def test_interventions_by_state_quarantine_by_rule_and_edges_come_from_the_store(
    client: TestClient, logins: dict[str, Login], store: SqlStore, clock: ManualClock,
) -> None:
    for n, state in enumerate([InterventionState.NEW, InterventionState.NEW,
                               InterventionState.DONE, InterventionState.ESCALATED]):
        store.save_intervention(make_intervention(f"iv-{n}", state=state,
                                                  created_at=clock.now() + timedelta(minutes=n)))
    store.add_quarantined([
        quarantined_message("andon/v1/acme/ghent/utilities/cooling-water/p-101/vibration",
                            b"{", Rule.MALFORMED, "not JSON", clock.now()),
        quarantined_message("andon/v1/acme/ghent/utilities/cooling-water/p-101/vibration",
                            b"{}", Rule.MALFORMED, "no value", clock.now()),
        quarantined_message("andon/v1/acme/ghent/utilities/cooling-water/p-101/vibration",
                            b'{"v": 1e9}', Rule.OUT_OF_RANGE, "too high", clock.now()),
    ])
    fresh = EdgeIdentity("edge-ghent", "acme", heartbeat_s=10.0)
    gone = EdgeIdentity("edge-porto", "acme", heartbeat_s=10.0)
    for identity, at, depth in ((fresh, clock.now() - timedelta(seconds=5), 42),
                                (gone, clock.now() - timedelta(minutes=5), 7)):
        doc = edge_document(identity, "heartbeat", at=at, link="buffering", buffer_depth=depth,
                            dropped={"sample": 3, "Bad Kind!": 9}, models={},
                            extra={"unacked": 5, "oldest_unacked_s": 12.5,
                                   "counts": {"received": 100, "recorded": 90,
                                              "quarantined": 10}})
        store.add_event(Event("edge_heartbeat", identity.edge_id, json.dumps(doc), at))
    got = scrape(client, logins["viewer"])
    assert value(got, "andon_store_up") == 1
    assert {s.value: value(got, "andon_interventions", state=s.value)
            for s in InterventionState} == {
        "new": 2, "acknowledged": 0, "in_progress": 0, "done": 1, "deferred": 0,
        "dismissed": 0, "shelved": 0, "escalated": 1, "expired": 0}
    assert value(got, "andon_quarantine_messages", rule="malformed") == 2
    assert value(got, "andon_quarantine_messages", rule="out_of_range") == 1
    assert value(got, "andon_edge_up", edge="edge-ghent") == 1
    assert value(got, "andon_edge_up", edge="edge-porto") == 0  # stale: 5 min > 3 x 10 s
    assert value(got, "andon_edge_buffer_depth", edge="edge-ghent") == 42
    assert value(got, "andon_edge_unacknowledged", edge="edge-ghent") == 5
    assert value(got, "andon_edge_oldest_unacknowledged_seconds", edge="edge-ghent") == 12.5
    assert value(got, "andon_edge_dropped", edge="edge-ghent", kind="sample") == 3
    assert not [k for k in got if k[0] == "andon_edge_dropped" and ("kind", "Bad Kind!") in k[1]]
    assert value(got, "andon_edge_samples_total", edge="edge-ghent", outcome="recorded") == 90
    assert value(got, "andon_edge_last_heartbeat_timestamp_seconds", edge="edge-porto") == (
        (clock.now() - timedelta(minutes=5)).timestamp())
    assert value(got, "andon_build_info", version="0.2.0") == 1
    assert value(got, "andon_ingest_messages_total") is None  # no ingest in this server


def test_a_store_that_does_not_answer_is_a_figure_not_a_failed_scrape(
    client: TestClient, logins: dict[str, Login], store: SqlStore,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    headers = logins["viewer"].headers
    assert client.get("/metrics", headers=headers).status_code == 200  # authenticated first

    def down() -> dict[str, int]:
        raise OSError("connection refused")

    monkeypatch.setattr(store, "count_interventions_by_state", down)
    got = scrape(client, logins["viewer"])
    assert value(got, "andon_store_up") == 0
    assert not [k for k in got if k[0] == "andon_interventions"]


def _samples(first: int, n: int) -> list[Sample]:
    return [Sample(ADDRESS, 1.0 + s, "mm/s", Quality.GOOD, to_ms(T0) + s * 1000, s, "plc-1")
            for s in range(first, first + n)]


def test_the_central_ingest_counts_what_it_received_and_quarantined(
    store: SqlStore, demo_spec: PlantSpec, clock: ManualClock, logins: dict[str, Login],
) -> None:
    ingest = CentralIngest(store, clock)
    subscribed = [True]
    app = create_app(store, demo_spec, clock=clock,
                     metrics=Metrics(store, clock, ingest=ingest,
                                     ingest_connected=lambda: subscribed[0]))
    box = Outbox(":memory:")
    fwd = Forwarder(OutboxSender(box), "acme", "e1")
    fwd.forward(_samples(0, 4), [])
    fwd.forward(_samples(4, 3), [])
    first, second = box.pending(10)
    doc = json.loads(second.payload)
    doc["samples"].append([ADDRESS.topic, "not a sample"])  # one entry no one can read
    ingest.on_message(first.topic, first.payload)
    ingest.on_message(first.topic, first.payload)  # a replay: a duplicate item
    ingest.on_message(second.topic, json.dumps(doc).encode())
    ingest.on_message("andon/v1/acme/_andon/edge/e1/event", b"not json")
    with TestClient(app) as client:
        got = scrape(client, logins["viewer"])
        assert value(got, "andon_ingest_samples_total", outcome="recorded") == 7
        assert value(got, "andon_ingest_samples_total", outcome="duplicate") == 0
        assert value(got, "andon_ingest_samples_total", outcome="quarantined") == 1
        assert value(got, "andon_ingest_quarantined_total") == 2  # the sample and the message
        assert value(got, "andon_ingest_duplicate_items_total") == 1
        assert value(got, "andon_ingest_messages_total") == 4
        assert value(got, "andon_ingest_connected") == 1
        assert value(got, "andon_quarantine_messages", rule="malformed") == 2
        subscribed[0] = False
        assert value(scrape(client, logins["viewer"]), "andon_ingest_connected") == 0
    box.close()


def test_at_most_max_edges_are_exported_the_most_recently_heard(
    store: SqlStore, demo_spec: PlantSpec, clock: ManualClock, logins: dict[str, Login],
) -> None:
    assert MAX_EDGES == 1000
    metrics = Metrics(store, clock)
    for n in range(3):
        at = clock.now() - timedelta(seconds=n)
        doc = edge_document(EdgeIdentity(f"edge-{n}", "acme"), "heartbeat", at=at,
                            link="online", buffer_depth=n, dropped={}, models={})
        store.add_event(Event("edge_heartbeat", f"edge-{n}", json.dumps(doc), at))
    monkey = pytest.MonkeyPatch()
    monkey.setattr("andon.services.metrics.MAX_EDGES", 2)
    try:
        body, _ = metrics.render(None)
    finally:
        monkey.undo()
    text = body.decode()
    assert 'andon_edge_buffer_depth{edge="edge-0"}' in text
    assert 'andon_edge_buffer_depth{edge="edge-1"}' in text
    assert 'edge="edge-2"' not in text  # the oldest heard is left out

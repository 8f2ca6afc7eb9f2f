"""Triage over HTTP: reviewers (engineer access) label held detections with provenance; the
overflow queues and the gate's counters are visible to every reader."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import TYPE_CHECKING

from andon.audit import Event
from andon.interventions.fatigue import Verdict
from andon.interventions.gate import EpisodeState, GateEntry, GateEpisode
from andon.interventions.triage import TriageItem, TriageReason, TriageStatus, TriageVerdict
from andon.testing.factories import T0, make_intervention

if TYPE_CHECKING:
    from andon.clock import ManualClock
    from andon.store import SqlStore
    from api.conftest import Login, TestClient

POSITION = "ghent/maintenance_planner"


def held(store: SqlStore) -> TriageItem:
    iv = make_intervention()
    return store.add_triage(TriageItem(
        id=0, use_case="pump-bearing", site="ghent", line="cooling-water", asset="p-102",
        reasons=(TriageReason.OUT_OF_DISTRIBUTION,), score=4.4, threshold=4.0,
        model="pump-bearing", model_version="3", window_end=T0, why=iv.why, created_at=T0,
        updated_at=T0))


def test_readers_list_triage_items_with_their_evidence(
        client: TestClient, store: SqlStore, logins: dict[str, Login]) -> None:
    item = held(store)
    response = client.get("/api/triage", headers=logins["viewer"].headers)
    assert response.status_code == 200
    [body] = response.json()
    assert body["id"] == item.id
    assert body["reasons"] == ["out_of_distribution"]
    assert body["confidence"] == 1.1
    assert body["status"] == "open"
    assert body["label"] is None
    assert body["why"][0]["feature"] == "vibration.mean"
    assert client.get("/api/triage?status=labelled",
                      headers=logins["viewer"].headers).json() == []


def test_an_engineer_labels_an_item_and_the_label_keeps_its_provenance(
        client: TestClient, store: SqlStore, clock: ManualClock,
        logins: dict[str, Login]) -> None:
    item = held(store)
    path = f"/api/triage/{item.id}/label"
    body = {"verdict": "normal", "note": " load test on the line "}
    assert client.post(path, json=body, headers=logins["operator"].headers).status_code == 403
    clock.advance(seconds=120)
    response = client.post(path, json=body, headers=logins["engineer"].headers)
    assert response.status_code == 201
    label = response.json()["label"]
    assert label == {"verdict": "normal", "by": "engineer", "role": "reliability_engineer",
                     "at": (T0 + timedelta(seconds=120)).isoformat().replace("+00:00", "Z"),
                     "note": "load test on the line"}
    stored = store.get_triage(item.id)
    assert stored.status is TriageStatus.LABELLED
    assert stored.label is not None
    assert (stored.label.verdict, stored.label.by) == (TriageVerdict.NORMAL, "engineer")
    assert [e.by for e in store.events(kind="triage_label")] == ["engineer"]
    detail = client.get(f"/api/triage/{item.id}", headers=logins["viewer"].headers).json()
    assert [lb["verdict"] for lb in detail["labels"]] == ["normal"]


def test_bad_labels_are_refused_with_a_reason(
        client: TestClient, store: SqlStore, logins: dict[str, Login]) -> None:
    item = held(store)
    headers = logins["engineer"].headers
    wrong = client.post(f"/api/triage/{item.id}/label", json={"verdict": "maybe"},
                        headers=headers)
    assert wrong.status_code == 422
    missing = client.post("/api/triage/999/label", json={"verdict": "unsure"},
                          headers=headers)
    assert missing.status_code == 404
    assert "triage item 999" in missing.json()["error"]
    assert store.triage_labels(item.id) == []


def test_overflow_queues_and_fatigue_counters_are_visible(
        client: TestClient, store: SqlStore, clock: ManualClock,
        logins: dict[str, Login]) -> None:
    first = make_intervention("rec-a", asset="p-101")
    second = make_intervention("rec-b", asset="p-102")
    for iv, at in ((first, T0), (replace(second, detections=2), T0 + timedelta(minutes=1))):
        store.save_episode(GateEpisode(f"pump-bearing/{iv.asset}", POSITION, EpisodeState.QUEUED,
                                       at, at, iv.detections, intervention_id=iv.id, queued=iv,
                                       queued_at=at))
    for verdict, n in ((Verdict.DELIVERED, 10), (Verdict.QUEUED, 2), (Verdict.SUPPRESSED, 3)):
        for _ in range(n):
            store.add_gate_entry(GateEntry(T0, POSITION, "pump-bearing/p-101", verdict, "x"))
    store.add_event(Event("fatigue_flood", POSITION, "flood: 10 new interventions", T0))
    clock.set(T0 + timedelta(minutes=5))
    headers = logins["viewer"].headers
    queues = client.get("/api/interventions/overflow", headers=headers).json()
    assert list(queues) == [POSITION]
    assert [(q["id"], q["detections"], q["waiting_s"]) for q in queues[POSITION]] == [
        ("rec-a", 4, 300.0), ("rec-b", 2, 240.0)]
    [counters] = client.get("/api/interventions/fatigue", headers=headers).json()
    assert counters["position"] == POSITION
    assert (counters["counts"]["delivered"], counters["counts"]["queued"],
            counters["counts"]["suppressed"], counters["counts"]["triage"]) == (10, 2, 3, 0)
    assert (counters["queued_now"], counters["floods"]) == (2, 1)
    later = client.get("/api/interventions/fatigue?since=2026-03-02T07:00:00",
                       headers=headers).json()
    assert later == [{"position": POSITION, "counts": dict.fromkeys(
        (v.value for v in Verdict), 0), "queued_now": 2, "floods": 0}]

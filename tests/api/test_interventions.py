"""The JSON API over a real SQLite store: interventions, feedback, models, spec, health."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

import pytest

from andon.feedback import FeedbackKind
from andon.interventions.record import Intervention, InterventionState
from andon.testing.factories import T0, closed, make_intervention, make_model
from api.conftest import DEMO_SPEC_TEXT, Login, TestClient

if TYPE_CHECKING:
    from andon.clock import ManualClock
    from andon.store import SqlStore


def give(client: TestClient, login: Login, iv_id: str, kind: str, reason: str = "") -> dict:
    response = client.post(f"/api/interventions/{iv_id}/feedback", headers=login.headers,
                           json={"kind": kind, "reason": reason})
    return {"status": response.status_code, **response.json()}


# -- reading ----------------------------------------------------------------------------------
def test_list_shows_open_and_deferred_newest_first_and_all_on_request(
    client: TestClient, store: SqlStore, logins: dict[str, Login],
) -> None:
    older = make_intervention("rec-old", created_at=T0 - timedelta(hours=3))
    newer = make_intervention("rec-new", asset="p-102", asset_name="Pump P-102", created_at=T0)
    deferred = make_intervention("rec-def", created_at=T0 - timedelta(hours=1),
                        state=InterventionState.DEFERRED)
    done = closed(make_intervention("rec-done", created_at=T0 - timedelta(hours=2)))
    for r in (older, newer, deferred, done):
        store.save_intervention(r)
    headers = logins["viewer"].headers
    listed = client.get("/api/interventions", headers=headers).json()
    assert [r["id"] for r in listed] == ["rec-new", "rec-def", "rec-old"]
    everything = client.get("/api/interventions", params={"all": "true"}, headers=headers)
    assert [r["id"] for r in everything.json()] == ["rec-new", "rec-def", "rec-done", "rec-old"]
    limited = client.get("/api/interventions", params={"limit": 1}, headers=headers)
    assert [r["id"] for r in limited.json()] == ["rec-new"]


def test_get_returns_the_full_record_with_its_why(
    client: TestClient, iv: Intervention, logins: dict[str, Login],
) -> None:
    body = client.get(f"/api/interventions/{iv.id}", headers=logins["viewer"].headers).json()
    assert body["format"] == "andon.intervention.v2"
    assert body["where"] == {"enterprise": "acme", "site": "ghent", "area": "utilities",
                             "line": "cooling-water", "asset": "p-101",
                             "asset_name": "Pump P-101"}
    action = body["action"]
    assert action["text"] == iv.action
    assert action["owner_role"] == "maintenance_planner"
    assert action["deadline"] == "2026-03-03T04:30:00Z"
    assert action["deadline_label"] == "Early-shift changeover stop"
    assert action["deadline_is_now"] is False
    assert action["priority"] == "high"
    lifecycle = body["lifecycle"]
    assert lifecycle["state"] == "new"
    assert lifecycle["is_open"] is True
    assert lifecycle["legal_moves"] == ["acknowledged", "dismissed", "escalated", "expired",
                                        "shelved"]
    assert [h["to_state"] for h in lifecycle["history"]] == ["new"]
    assert body["dedup_key"] == "pump-bearing:p-101:2026-03-02T06:55:00Z"
    evidence = body["evidence"]
    assert {k: v for k, v in evidence.items() if k != "why"} == {
        "detected_at": "2026-03-02T06:55:00Z",
        "window_start": "2026-03-02T06:55:00Z", "window_end": "2026-03-02T06:55:00Z",
        "score": iv.score, "threshold": iv.threshold, "model": "pump-bearing",
        "model_version": "3", "detections": 4}
    assert evidence["why"][0] == {
        "feature": "vibration.mean", "value": 7.9, "baseline": 2.1, "spread": 0.3,
        "share": 0.61, "unit": "mm/s",
        "deviation": pytest.approx((7.9 - 2.1) / 0.3), "residual": None,
        "text": "vibration 7.9 mm/s, 19 σ above healthy (2.1 ± 0.3 mm/s): 61 % of the score",
    }
    assert len(evidence["why"]) == 2
    assert body["outcome"] is None


def test_unknown_intervention_is_404_everywhere(
    client: TestClient, logins: dict[str, Login],
) -> None:
    headers = logins["operator"].headers
    for method, path, body in (
        ("GET", "/api/interventions/nope", None),
        ("GET", "/api/interventions/nope/feedback", None),
        ("POST", "/api/interventions/nope/feedback", {"kind": "acted"}),
    ):
        response = client.request(method, path, headers=headers, json=body)
        assert response.status_code == 404
        assert response.json() == {"error": "intervention 'nope' not found"}


# -- feedback ---------------------------------------------------------------------------------
def test_acted_feedback_is_stored_closes_the_intervention_and_is_recorded_as_event(
    client: TestClient, store: SqlStore, clock: ManualClock, iv: Intervention,
    logins: dict[str, Login],
) -> None:
    clock.advance(seconds=90)
    result = give(client, logins["operator"], iv.id, "acted", "  re-greased, vibration down  ")
    assert result["status"] == 201
    assert result["intervention"]["lifecycle"]["state"] == "done"
    assert result["intervention"]["action"]["assignee"] == "operator"
    assert [(h["from_state"], h["to_state"], h["by"]) for h in
            result["intervention"]["lifecycle"]["history"][1:]] == [
        ("new", "acknowledged", "operator"), ("acknowledged", "done", "operator")]
    assert result["feedback"] == {
        "intervention_id": iv.id, "kind": "acted", "reason": "re-greased, vibration down",
        "by": "operator", "at": "2026-03-02T07:01:30Z", "via": "api",
    }
    [fb] = store.feedback_for(iv.id)
    assert (fb.kind, fb.by, fb.at, fb.reason) == (
        FeedbackKind.ACTED, "operator", clock.now(), "re-greased, vibration down")
    assert store.get_intervention(iv.id).state is InterventionState.DONE
    [event] = store.events(kind="feedback")
    assert (event.subject, event.by, event.detail) == (
        iv.id, "operator", "acted: re-greased, vibration down")
    listed = client.get(f"/api/interventions/{iv.id}/feedback",
                        headers=logins["viewer"].headers).json()
    assert [f["kind"] for f in listed] == ["acted"]
    still_open = client.get("/api/interventions", headers=logins["viewer"].headers).json()
    assert still_open == []


def test_deferred_keeps_the_iv_open_for_more_feedback(
    client: TestClient, store: SqlStore, iv: Intervention, logins: dict[str, Login],
) -> None:
    assert give(client, logins["operator"], iv.id, "deferred", "spares Monday")["status"] == 201
    assert store.get_intervention(iv.id).state is InterventionState.DEFERRED
    assert give(client, logins["engineer"], iv.id, "dismissed", "duplicate of WO-77")[
        "intervention"]["lifecycle"]["state"] == "dismissed"
    assert [(f.kind, f.by) for f in store.feedback_for(iv.id)] == [
        (FeedbackKind.DEFERRED, "operator"), (FeedbackKind.DISMISSED, "engineer")]


def test_dismissal_without_reason_is_422_with_the_reason_and_stores_nothing(
    client: TestClient, store: SqlStore, iv: Intervention, logins: dict[str, Login],
) -> None:
    for reason in ("", "   "):
        result = give(client, logins["operator"], iv.id, "dismissed", reason)
        assert result == {"status": 422,
                          "error": f"dismissing intervention {iv.id} needs a reason"}
    assert store.feedback_for(iv.id) == []
    assert store.get_intervention(iv.id).state is InterventionState.NEW


def test_feedback_on_a_closed_intervention_is_422(
    client: TestClient, store: SqlStore, logins: dict[str, Login],
) -> None:
    done = closed(make_intervention("rec-done"), InterventionState.DISMISSED)
    store.save_intervention(done)
    result = give(client, logins["operator"], done.id, "acted")
    assert result["status"] == 422
    assert result["error"] == (
        "intervention rec-done is already dismissed; it takes no more feedback")


def test_malformed_feedback_is_422_without_echoing_input(
    client: TestClient, iv: Intervention, logins: dict[str, Login],
) -> None:
    response = client.post(f"/api/interventions/{iv.id}/feedback",
                           headers=logins["operator"].headers,
                           json={"kind": "fixed-it-myself", "extra": 1})
    assert response.status_code == 422
    body = response.json()
    assert body["error"].startswith("2 problems: body.kind:")
    assert len(body["problems"]) == 2
    assert "fixed-it-myself" not in response.text


# -- models, health, me -----------------------------------------------------------------------
def test_models_health_and_me(
    client: TestClient, store: SqlStore, iv: Intervention, logins: dict[str, Login],
) -> None:
    store.register_model(make_model(version=3))
    headers = logins["engineer"].headers
    [model] = client.get("/api/models", headers=headers).json()
    assert (model["name"], model["version"], model["label"]) == ("pump-bearing", 3,
                                                                 "pump-bearing v3")
    assert model["features"] == ["vibration.mean", "bearing_temp.slope"]
    assert model["threshold"] == 4.0
    assert model["train_start"] == "2026-01-31T07:00:00Z"
    assert model["train_end"] == "2026-03-01T07:00:00Z"
    assert model["created_at"] == "2026-03-01T19:00:00Z"
    health = client.get("/api/health", headers=headers).json()
    assert health == {"status": "ok", "open_interventions": 1, "samples": 0,
                      "models": ["pump-bearing v3"]}
    me = client.get("/api/me", headers=headers).json()
    assert me == {"username": "engineer", "display_name": "Engineer",
                  "role": "reliability_engineer", "access": "engineer",
                  "permissions": ["feedback", "manage_models", "read", "review"]}


# -- the plant spec ---------------------------------------------------------------------------
def test_admin_replaces_the_spec_and_everyone_can_read_it(
    client: TestClient, store: SqlStore, clock: ManualClock, logins: dict[str, Login],
) -> None:
    viewer = logins["viewer"].headers
    assert client.get("/api/spec", headers=viewer).status_code == 404
    response = client.put("/api/spec", content=DEMO_SPEC_TEXT.encode(),
                          headers={**logins["admin"].headers, "Content-Type": "text/plain"})
    assert response.status_code == 200, response.text
    assert response.json() == {"version": 1, "by": "admin", "at": "2026-03-02T07:00:00Z"}
    current = client.get("/api/spec", headers=viewer).json()
    assert (current["version"], current["text"]) == (1, DEMO_SPEC_TEXT)
    as_json = client.put("/api/spec", json={"text": DEMO_SPEC_TEXT},
                         headers=logins["admin"].headers)
    assert as_json.json()["version"] == 2
    assert store.current_spec() is not None
    assert [e.subject for e in store.events(kind="spec")] == ["v2", "v1"]


def test_broken_spec_is_422_with_one_file_line_problem_each(
    client: TestClient, store: SqlStore, logins: dict[str, Login],
) -> None:
    broken = DEMO_SPEC_TEXT.replace("timezone: Europe/Brussels", "timezone: Mars/Olympus", 1)
    response = client.put("/api/spec", content=broken.encode(),
                          headers={**logins["admin"].headers, "Content-Type": "text/plain"})
    assert response.status_code == 422
    body = response.json()
    line = next(i for i, text in enumerate(broken.splitlines(), 1) if "Mars/Olympus" in text)
    expected = (f"plant.yaml:{line} sites[0].timezone: 'Mars/Olympus' is not an IANA time "
                "zone (e.g. Europe/Brussels)")
    assert body["problems"] == [expected]
    assert body["error"] == f"plant spec rejected (1 problem); first: {expected}"
    assert store.current_spec() is None


def test_spec_body_must_be_yaml_text_or_json_text(
    client: TestClient, logins: dict[str, Login],
) -> None:
    admin = logins["admin"].headers
    wrong_json = client.put("/api/spec", json={"spec": "x"}, headers=admin)
    assert wrong_json.status_code == 422
    assert wrong_json.json() == {"error": 'JSON body must be {"text": "<yaml>"}'}
    not_text = client.put("/api/spec", content=b"\x89PNG",
                          headers={**admin, "Content-Type": "image/png"})
    assert not_text.status_code == 415
    bad_utf8 = client.put("/api/spec", content=b"\xff\xfe",
                          headers={**admin, "Content-Type": "text/plain"})
    assert bad_utf8.status_code == 422
    assert bad_utf8.json()["problems"][0].startswith("plant.yaml: not UTF-8 text")


def test_only_admins_may_replace_the_spec(
    client: TestClient, store: SqlStore, logins: dict[str, Login],
) -> None:
    for access in ("viewer", "operator", "engineer"):
        response = client.put("/api/spec", content=DEMO_SPEC_TEXT.encode(),
                              headers={**logins[access].headers, "Content-Type": "text/plain"})
        assert response.status_code == 403
        assert response.json() == {
            "error": f"{access} (role {logins[access].user.role}) may not change the plant spec"}
    assert store.current_spec() is None


# -- lifecycle moves, outcomes, labels --------------------------------------------------------
def move(client: TestClient, login: Login, iv_id: str, to: str, **extra: object) -> dict:
    response = client.post(f"/api/interventions/{iv_id}/transition", headers=login.headers,
                           json={"to": to, **extra})
    return {"status": response.status_code, **response.json()}


def test_transitions_walk_the_lifecycle_and_record_who_when_why(
    client: TestClient, store: SqlStore, clock: ManualClock, iv: Intervention,
    logins: dict[str, Login],
) -> None:
    op = logins["operator"]
    clock.advance(seconds=60)
    acked = move(client, op, iv.id, "acknowledged")
    assert acked["status"] == 200
    assert acked["transition"] == {"from_state": "new", "to_state": "acknowledged",
                                   "by": "operator", "at": "2026-03-02T07:01:00Z", "reason": ""}
    assert acked["intervention"]["action"]["assignee"] == "operator"
    assert acked["intervention"]["lifecycle"]["legal_moves"] == [
        "deferred", "dismissed", "done", "expired", "in_progress", "shelved"]
    clock.advance(seconds=60)
    assert move(client, op, iv.id, "in_progress")["status"] == 200
    clock.advance(seconds=600)
    done = move(client, op, iv.id, "done", reason="bearing re-greased")
    assert done["intervention"]["lifecycle"]["state"] == "done"
    stored = store.get_intervention(iv.id)
    assert [(m.to_state.value, m.by, m.at.strftime("%H:%M"), m.reason)
            for m in stored.history[1:]] == [
        ("acknowledged", "operator", "07:01", ""), ("in_progress", "operator", "07:02", ""),
        ("done", "operator", "07:12", "bearing re-greased")]
    # a move into done is feedback (acted) and a label
    assert [(f.kind, f.reason) for f in store.feedback_for(iv.id)] == [
        (FeedbackKind.ACTED, "bearing re-greased")]
    assert [e.detail for e in store.events(kind="transition")] == [
        "in_progress -> done: bearing re-greased", "acknowledged -> in_progress",
        "new -> acknowledged"]


def test_illegal_moves_are_409_with_the_lifecycles_one_line_and_store_nothing(
    client: TestClient, store: SqlStore, iv: Intervention, logins: dict[str, Login],
) -> None:
    result = move(client, logins["operator"], iv.id, "done")
    assert result == {"status": 409, "error": (
        "cannot move intervention from new to done (acknowledge it first; legal: "
        "acknowledged, dismissed, escalated, expired, shelved)")}
    no_reason = move(client, logins["operator"], iv.id, "dismissed")
    assert no_reason["status"] == 409
    assert no_reason["error"].endswith("(dismissing needs a reason)")
    assert store.get_intervention(iv.id).history == iv.history
    assert store.labels() == []


def test_shelving_needs_reason_and_an_expiry_within_24_h(
    client: TestClient, store: SqlStore, clock: ManualClock, iv: Intervention,
    logins: dict[str, Login],
) -> None:
    op = logins["operator"]
    too_far = (clock.now() + timedelta(hours=25)).isoformat()
    assert move(client, op, iv.id, "shelved", reason="sensor swap",
                shelve_until=too_far)["status"] == 409
    until = (clock.now() + timedelta(hours=4)).isoformat()
    shelved = move(client, op, iv.id, "shelved", reason="sensor swap", shelve_until=until)
    assert shelved["intervention"]["lifecycle"]["state"] == "shelved"
    assert shelved["intervention"]["lifecycle"]["shelved_until"] == "2026-03-02T11:00:00Z"
    assert store.get_intervention(iv.id).is_open  # still listed, as shelved


def test_outcome_after_the_action_becomes_a_label_with_the_evidence_window(
    client: TestClient, store: SqlStore, clock: ManualClock, iv: Intervention,
    logins: dict[str, Login],
) -> None:
    op = logins["operator"]
    early = client.post(f"/api/interventions/{iv.id}/outcome", headers=op.headers,
                        json={"label": "fault_confirmed", "detail": "spalled race"})
    assert early.status_code == 422
    assert early.json()["error"] == (f"intervention {iv.id} is new; an outcome is told once "
                                     "it is dismissed, done, expired")
    give(client, op, iv.id, "acted", "bearing replaced")
    clock.advance(seconds=3600)
    response = client.post(f"/api/interventions/{iv.id}/outcome", headers=op.headers,
                           json={"label": "fault_confirmed", "detail": " outer race spalled "})
    assert response.status_code == 201
    body = response.json()
    assert body["intervention"]["outcome"] == {"label": "fault_confirmed",
                                                "detail": "outer race spalled"}
    assert body["label"]["detail"] == "outer race spalled"
    labels = client.get("/api/labels", headers=logins["viewer"].headers).json()
    assert [(lb["kind"], lb["label"], lb["detail"], lb["via"], lb["at"]) for lb in labels] == [
        ("feedback", "acted", "bearing replaced", "api", "2026-03-02T07:00:00Z"),
        ("outcome", "fault_confirmed", "outer race spalled", "api", "2026-03-02T08:00:00Z")]
    for lb in labels:
        assert (lb["asset"], lb["use_case"], lb["model"], lb["model_version"]) == (
            "p-101", "pump-bearing", "pump-bearing", "3")
        assert (lb["window_start"], lb["window_end"]) == ("2026-03-02T06:55:00Z",
                                                          "2026-03-02T06:55:00Z")
    bad = client.post(f"/api/interventions/{iv.id}/outcome", headers=op.headers,
                      json={"label": "broken"})
    assert bad.status_code == 422

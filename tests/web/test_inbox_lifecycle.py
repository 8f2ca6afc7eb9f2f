"""The inbox's lifecycle buttons, history, shelving and outcome form; labels via web and API."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import TYPE_CHECKING

from andon.feedback import Label
from andon.interventions.record import InterventionState
from andon.testing.factories import make_intervention
from web.test_inbox import card, sign_in

if TYPE_CHECKING:
    from andon.clock import ManualClock
    from andon.interventions.record import Intervention
    from andon.store import SqlStore
    from api.conftest import Login, TestClient


def buttons(html: str) -> list[str]:
    return re.findall(r'data-move="([a-z_]+)"', html)


def test_only_legal_moves_are_offered_at_each_step_and_history_grows(
    client: TestClient, store: SqlStore, clock: ManualClock, iv: Intervention,
    logins: dict[str, Login],
) -> None:
    csrf = sign_in(client, "operator")
    path = f"/inbox/{iv.id}/transition"
    assert buttons(card(client.get("/inbox").text, iv.id)) == [
        "acknowledged", "dismissed", "shelved"]
    clock.advance(seconds=120)
    ack = client.post(path, data={"to": "acknowledged", "csrf": csrf})
    assert ack.status_code == 303
    page = client.get(ack.headers["location"]).text
    assert "Recorded “acknowledged” for Pump P-101 (p-101)." in page
    c = card(page, iv.id)
    assert buttons(c) == ["in_progress", "done", "deferred", "dismissed", "shelved"]
    assert "Acknowledged by operator" in c
    assert "Maintenance planner · operator" in c
    client.post(path, data={"to": "in_progress", "csrf": csrf})
    c = card(client.get("/inbox").text, iv.id)
    assert buttons(c) == ["done", "deferred", "dismissed"]
    history = re.findall(r"<li>(Mon 02 Mar [^<]*)</li>", c)
    assert history == [
        "Mon 02 Mar 08:00 CET · andon: raised → new (raised)",
        "Mon 02 Mar 08:02 CET · operator: new → acknowledged",
        "Mon 02 Mar 08:02 CET · operator: acknowledged → in_progress",
    ]
    # a move that is not legal any more (e.g. a stale page) shows the lifecycle's reason
    stale = client.post(path, data={"to": "acknowledged", "csrf": csrf})
    assert stale.status_code == 409
    assert ("Cannot move intervention from in_progress to acknowledged (legal: deferred, "
            "dismissed, done)." in stale.text)
    assert store.get_intervention(iv.id).state is InterventionState.IN_PROGRESS


def test_shelving_from_the_inbox_needs_a_reason_and_bounded_hours(
    client: TestClient, store: SqlStore, clock: ManualClock, iv: Intervention,
    logins: dict[str, Login],
) -> None:
    csrf = sign_in(client, "operator")
    path = f"/inbox/{iv.id}/transition"
    too_long = client.post(path, data={"to": "shelved", "reason": "x", "shelve_hours": "48",
                                       "csrf": csrf})
    assert too_long.status_code == 422
    assert "Shelve for more than 0 and at most 24 hours." in too_long.text
    no_reason = client.post(path, data={"to": "shelved", "shelve_hours": "4", "csrf": csrf})
    assert no_reason.status_code == 409
    assert "(shelving needs a reason)." in no_reason.text
    ok = client.post(path, data={"to": "shelved", "reason": "sensor being swapped",
                                 "shelve_hours": "4", "csrf": csrf})
    assert ok.status_code == 303
    stored = store.get_intervention(iv.id)
    assert stored.state is InterventionState.SHELVED
    assert stored.shelved_until == clock.now() + timedelta(hours=4)
    assert "Shelved until Mon 02 Mar 12:00 CET" in card(client.get("/inbox").text, iv.id)


def _essence(label: Label) -> tuple[object, ...]:
    """What must be the same whichever surface a label came through."""
    return (label.asset, label.use_case, label.model, label.model_version, label.window_start,
            label.window_end, label.kind, label.label, label.detail, label.by)


def test_feedback_and_outcome_via_web_and_api_store_the_same_labels(
    client: TestClient, store: SqlStore, logins: dict[str, Login],
) -> None:
    """The web and API halves; the MQTT reply topic's half lives with the sinks tests."""
    web_iv, api_iv = make_intervention("rec-web"), make_intervention("rec-api")
    store.save_intervention(web_iv)
    store.save_intervention(api_iv)
    csrf = sign_in(client, "operator")
    assert client.post(f"/inbox/{web_iv.id}/feedback", data={
        "kind": "acted", "reason": "re-greased", "csrf": csrf}).status_code == 303
    page = client.get("/inbox").text
    assert f'id="closed-{web_iv.id}"' in page  # the outcome form is offered
    assert client.post(f"/inbox/{web_iv.id}/outcome", data={
        "label": "fault_confirmed", "detail": "dry bearing", "csrf": csrf}).status_code == 303
    assert f'id="closed-{web_iv.id}"' not in client.get("/inbox").text

    headers = logins["operator"].headers
    assert client.post(f"/api/interventions/{api_iv.id}/feedback", headers=headers,
                       json={"kind": "acted", "reason": "re-greased"}).status_code == 201
    assert client.post(f"/api/interventions/{api_iv.id}/outcome", headers=headers,
                       json={"label": "fault_confirmed",
                             "detail": "dry bearing"}).status_code == 201

    web = store.labels(intervention_id=web_iv.id)
    api = store.labels(intervention_id=api_iv.id)
    assert [lb.via for lb in web] == ["web", "web"]
    assert [lb.via for lb in api] == ["api", "api"]
    assert [_essence(lb) for lb in web] == [_essence(lb) for lb in api]
    assert [(lb.kind, lb.label) for lb in web] == [("feedback", "acted"),
                                                  ("outcome", "fault_confirmed")]


def test_outcome_form_refuses_an_unknown_label_visibly(
    client: TestClient, store: SqlStore, iv: Intervention, logins: dict[str, Login],
) -> None:
    csrf = sign_in(client, "operator")
    client.post(f"/inbox/{iv.id}/feedback", data={"kind": "dismissed", "reason": "dup",
                                                  "csrf": csrf})
    odd = client.post(f"/inbox/{iv.id}/outcome", data={"label": "maybe", "csrf": csrf})
    assert odd.status_code == 422
    assert "Choose what was found." in odd.text
    assert [lb.kind for lb in store.labels()] == ["feedback"]


def test_an_unknown_move_is_refused_visibly(
    client: TestClient, store: SqlStore, iv: Intervention, logins: dict[str, Login],
) -> None:
    csrf = sign_in(client, "operator")
    odd = client.post(f"/inbox/{iv.id}/transition", data={"to": "fixed", "csrf": csrf})
    assert odd.status_code == 422
    assert "Choose one of the offered moves." in odd.text
    assert store.get_intervention(iv.id).state is InterventionState.NEW

"""Feedback over the MQTT reply topic, against the real Mosquitto: stored exactly as the API
stores it; bad messages answered with a one-line reason and kept as events, never a crash."""

from __future__ import annotations

import asyncio
import json
import warnings
from dataclasses import replace
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest

from andon.api import create_app
from andon.connectors.mqtt import MqttClient
from andon.feedback.panel import parse_feedback
from andon.interventions.lifecycle import InterventionState
from andon.services.feedback_mqtt import MqttFeedback, run_feedback
from andon.sinks.uns import feedback_result_topic, feedback_topic
from andon.spec.model import Enterprise, Panel
from andon.testing import need, unique_id
from andon.testing.factories import add_token, add_user, make_intervention

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

if TYPE_CHECKING:
    from andon.clock import ManualClock
    from andon.spec import PlantSpec
    from andon.store import SqlStore

BROKER = "mqtt://127.0.0.1:1883"
WAIT_S = 10.0
PEOPLE = {"ana", "chris"}


#: the panels these tests answer through, and who answers on each
PANELS = [Panel(id="panel-7", people=["chris"]), Panel(id="hmi-3", people=["ana"]),
          Panel(id="hmi-7", people=["ana"])]


def paneled(spec: PlantSpec) -> PlantSpec:
    return spec.model_copy(update={"panels": PANELS})


def unique(spec: PlantSpec) -> PlantSpec:
    ent = Enterprise(id=unique_id(), name=spec.enterprise.name)
    return paneled(spec).model_copy(update={"enterprise": ent})


# -- parsing (no broker) ------------------------------------------------------------------------
@pytest.mark.parametrize(("payload", "reason"), [
    (b"{not json", ("not JSON: Expecting property name enclosed in double quotes: line 1 "
                    "column 2 (char 1)")),
    (b"[1, 2]", "expected a JSON object, got list"),
    (b'{"id": "r", "kind": "acted"}', "by: Field required"),
    (b'{"id": "r", "kind": "fixed", "by": "ana"}',
     "kind: Input should be 'acted', 'deferred' or 'dismissed'"),
    (b'{"id": "r", "by": "ana"}', ("give either 'kind' (acted, deferred, dismissed) or "
                                   "'outcome' (fault_confirmed, no_fault, unsure)")),
    (b'{"id": "r", "kind": "acted", "by": "zed"}',
     "unknown person 'zed' in 'by' (people of the spec: ana, chris)"),
    (b'{"id": "r", "kind": "acted", "by": "ana", "extra": 1}',
     "extra: Extra inputs are not permitted"),
])
def test_bad_messages_get_a_one_line_reason(payload: bytes, reason: str) -> None:
    assert parse_feedback(payload, PEOPLE) == reason


def test_handler_applies_feedback_and_outcome_and_rejects_without_raising(
        store: SqlStore, demo_spec: PlantSpec, clock: ManualClock) -> None:
    iv = make_intervention()
    store.save_intervention(iv)
    published: list[tuple[str, bytes]] = []
    handler = MqttFeedback(store, paneled(demo_spec), clock=clock,
                           publish=lambda t, p: published.append((t, p)))
    topic = feedback_topic("acme", "panel-7")

    ok = handler.handle(topic, json.dumps({"id": iv.id, "kind": "acted", "by": "chris",
                                           "reason": "greased", "ref": 1}).encode())
    assert ok.ok
    assert ok.state == "done"
    clock.advance(60)
    out = handler.handle(topic, json.dumps({"id": iv.id, "outcome": "fault_confirmed",
                                            "detail": "pitted race", "by": "chris"}).encode())
    assert out.ok
    again = handler.handle(topic, json.dumps({"id": iv.id, "kind": "acted",
                                              "by": "chris"}).encode())
    unknown = handler.handle(topic, json.dumps({"id": "nope", "kind": "acted",
                                                "by": "chris"}).encode())
    assert not again.ok
    assert again.reason == f"intervention {iv.id} is already done; it takes no more feedback"
    assert unknown.reason == "unknown intervention 'nope'"
    assert [t for t, _ in published] == [feedback_result_topic("acme", "panel-7")] * 4
    assert json.loads(published[0][1]) == {"ok": True, "id": iv.id, "ref": 1, "state": "done"}
    rejected = store.events(kind="feedback_rejected")
    assert [e.detail for e in rejected] == [unknown.reason, again.reason]
    assert {e.subject for e in rejected} == {topic}
    labels = store.labels(intervention_id=iv.id)
    assert [(lb.kind, lb.label, lb.via) for lb in labels] == [
        ("feedback", "acted", "mqtt"), ("outcome", "fault_confirmed", "mqtt")]


# -- over the real broker --------------------------------------------------------------------
@pytest.mark.mosquitto
def test_mqtt_feedback_is_stored_exactly_as_api_feedback(
        store: SqlStore, demo_spec: PlantSpec, clock: ManualClock) -> None:
    need("Mosquitto", "127.0.0.1", 1883)
    spec = unique(demo_spec)
    ent = spec.enterprise.id
    by_api = replace(make_intervention("rec-api"), enterprise=ent)
    by_mqtt = replace(make_intervention("rec-mqtt", asset="p-102"), enterprise=ent)
    for r in (by_api, by_mqtt):
        store.save_intervention(r)
    add_user(store, "ana", access="operator", role="operator")
    token = add_token(store, "ana", clock.now() + timedelta(days=1))
    reason = "Waiting for the bearing kit; planned stop on Tuesday"

    with TestClient(create_app(store, spec, clock=clock)) as api:
        response = api.post(f"/api/interventions/{by_api.id}/feedback",
                            headers={"Authorization": f"Bearer {token}"},
                            json={"kind": "deferred", "reason": reason})
    assert response.status_code == 201

    sender = "hmi-3"
    messages: list[bytes] = [
        b"{oops",
        json.dumps({"id": by_mqtt.id, "kind": "deferred", "reason": reason, "by": "nobody"})
        .encode(),
        json.dumps({"id": by_mqtt.id, "kind": "deferred", "reason": reason, "by": "ana",
                    "ref": "m3"}).encode(),
    ]

    async def scenario() -> list[dict[str, Any]]:
        stop, ready = asyncio.Event(), asyncio.Event()
        handler = MqttFeedback(store, spec, clock=clock)
        service = asyncio.ensure_future(run_feedback(handler, BROKER, stop, ready=ready))
        await asyncio.wait_for(ready.wait(), WAIT_S)
        answers: asyncio.Queue[bytes] = asyncio.Queue()
        panel = MqttClient(BROKER, subscriptions=[feedback_result_topic(ent, sender)], qos=1,
                           on_message=lambda _t, p: answers.put_nowait(p))
        await panel.connect()
        await panel.subscribed()
        for m in messages:
            panel.publish(feedback_topic(ent, sender), m, qos=1)
        got = [json.loads(await asyncio.wait_for(answers.get(), WAIT_S)) for _ in messages]
        await panel.disconnect()
        stop.set()
        await asyncio.wait_for(service, WAIT_S)
        return got

    answers = asyncio.run(scenario())
    assert [a["ok"] for a in answers] == [False, False, True]
    assert answers[0]["reason"].startswith("not JSON")
    assert answers[1]["reason"].startswith("unknown person 'nobody'")
    assert answers[2] == {"ok": True, "id": by_mqtt.id, "ref": "m3", "state": "deferred"}
    assert len(store.events(kind="feedback_rejected")) == 2

    def stored(intervention_id: str) -> Any:
        iv = store.get_intervention(intervention_id)
        [fb] = store.feedback_for(intervention_id)
        [label] = store.labels(intervention_id=intervention_id)
        [event] = [e for e in store.events(kind="feedback") if e.subject == intervention_id]
        return (iv.state, iv.assignee, [(m.from_state, m.to_state, m.by, m.reason)
                                          for m in iv.history[1:]],
                (fb.kind, fb.reason, fb.by, fb.at),
                (label.kind, label.label, label.detail, label.by, label.at, label.window_start,
                 label.window_end, label.model, label.model_version),
                (event.detail, event.by))

    assert stored(by_api.id) == stored(by_mqtt.id)
    assert store.get_intervention(by_mqtt.id).state is InterventionState.DEFERRED
    assert store.labels(intervention_id=by_api.id)[0].via == "api"
    assert store.labels(intervention_id=by_mqtt.id)[0].via == "mqtt"


def test_answers_sent_while_the_listener_is_away_are_handled_when_it_is_back(
        store: SqlStore, demo_spec: PlantSpec, clock: ManualClock) -> None:
    """``andon serve`` restarts: a panel's QoS 1 answers in between wait at the broker (the
    listener's persistent session) and are applied, once each, when it is back."""
    need("Mosquitto", "127.0.0.1", 1883)
    spec = unique(demo_spec)
    ent = spec.enterprise.id
    ivs = [replace(make_intervention(f"iv-away-{n}", asset=asset), enterprise=ent)
           for n, asset in enumerate(("p-101", "p-102", "p-301"))]
    for iv in ivs:
        store.save_intervention(iv)
    add_user(store, "ana", access="operator", role="operator")
    session = f"andon-feedback-{unique_id()}"
    sender = "hmi-7"

    async def scenario() -> list[dict[str, Any]]:
        handler = MqttFeedback(store, spec, clock=clock)

        async def listen() -> tuple[asyncio.Event, asyncio.Future[None]]:
            stop, ready = asyncio.Event(), asyncio.Event()
            task = asyncio.ensure_future(run_feedback(handler, BROKER, stop, ready=ready,
                                                      session=session))
            await asyncio.wait_for(ready.wait(), WAIT_S)
            return stop, task

        stop, task = await listen()  # the session exists from here on
        stop.set()
        await asyncio.wait_for(task, WAIT_S)
        answers: asyncio.Queue[bytes] = asyncio.Queue()
        panel = MqttClient(BROKER, subscriptions=[feedback_result_topic(ent, sender)], qos=1,
                           on_message=lambda _t, p: answers.put_nowait(p))
        await panel.connect()
        await panel.subscribed()
        for n, iv in enumerate(ivs):  # nobody is listening now
            panel.publish(feedback_topic(ent, sender), json.dumps(
                {"id": iv.id, "kind": "deferred", "reason": "parts on order", "by": "ana",
                 "ref": f"m{n}"}).encode(), qos=1)
        await panel.subscribed()  # a round trip: the broker has all three
        stop, task = await listen()
        got = [json.loads(await asyncio.wait_for(answers.get(), WAIT_S)) for _ in ivs]
        stop.set()
        await asyncio.wait_for(task, WAIT_S)
        await panel.disconnect()
        return got

    got = asyncio.run(scenario())
    assert sorted(a["ref"] for a in got) == ["m0", "m1", "m2"]
    assert all(a["ok"] for a in got), got
    for iv in ivs:
        assert store.get_intervention(iv.id).state is InterventionState.DEFERRED
        assert len(store.feedback_for(iv.id)) == 1

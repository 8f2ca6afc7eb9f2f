"""UNS sink against the real Mosquitto: the document on the asset's _andon/intervention topic,
retained, and state changes published as new versions."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest

from andon.connectors.mqtt import MqttClient
from andon.interventions.lifecycle import InterventionState
from andon.interventions.wire import intervention_document
from andon.services.delivery import recorder
from andon.sinks import Dispatcher, Outgoing, Route, UnsSink
from andon.sinks.uns import document_topic
from andon.testing import need, unique_id
from andon.testing.factories import make_intervention

if TYPE_CHECKING:
    from andon.clock import ManualClock
    from andon.store import SqlStore

BROKER = "mqtt://127.0.0.1:1883"
WAIT_S = 10.0

pytestmark = pytest.mark.mosquitto


def unique_iv(ent: str) -> Any:
    return replace(make_intervention(), enterprise=ent)


async def _subscriber(topic: str) -> tuple[MqttClient, asyncio.Queue[tuple[str, bytes]]]:
    got: asyncio.Queue[tuple[str, bytes]] = asyncio.Queue()
    client = MqttClient(BROKER, subscriptions=[topic], qos=1,
                        on_message=lambda t, p: got.put_nowait((t, p)))
    await client.connect()
    await client.subscribed()
    return client, got


def test_topic_is_the_assets_intervention_topic() -> None:
    doc = intervention_document(make_intervention())
    assert document_topic(doc) == \
        "andon/v1/acme/ghent/utilities/cooling-water/p-101/_andon/intervention"


def test_publishes_each_version_retained_on_the_real_broker(
        store: SqlStore, clock: ManualClock) -> None:
    need("Mosquitto", "127.0.0.1", 1883)
    ent = unique_id()
    iv = unique_iv(ent)
    doc = intervention_document(iv)
    topic = document_topic(doc)

    async def scenario() -> tuple[list[dict[str, Any]], dict[str, Any]]:
        publisher = MqttClient(BROKER)
        await publisher.connect()
        sub, got = await _subscriber(topic)
        sink = UnsSink(publisher, connected=publisher.connected, clock=clock)
        dispatcher = Dispatcher([Route(sink)], store, recorder(store), clock=clock)
        await dispatcher.dispatch([doc])
        acked = replace(iv, state=InterventionState.ACKNOWLEDGED, assignee="ana",
                        updated_at=iv.updated_at + timedelta(minutes=2))
        await dispatcher.dispatch([intervention_document(acked)])
        await dispatcher.dispatch([intervention_document(acked)])  # unchanged: not again
        seen = [json.loads((await asyncio.wait_for(got.get(), WAIT_S))[1]) for _ in range(2)]
        await sub.disconnect()
        # a late subscriber gets the latest version at once (retained)
        late, late_got = await _subscriber(topic)
        retained = json.loads((await asyncio.wait_for(late_got.get(), WAIT_S))[1])
        await late.disconnect()
        publisher.publish(topic, b"", qos=1, retain=True)  # clear the retained message
        await publisher.disconnect()
        return seen, retained

    seen, retained = asyncio.run(scenario())
    assert seen[0] == doc
    assert [s["lifecycle"]["state"] for s in seen] == ["new", "acknowledged"]
    assert retained["lifecycle"]["state"] == "acknowledged"
    assert retained["action"]["assignee"] == "ana"
    rows = list(reversed(store.deliveries(sink="uns")))
    assert [(r.version, r.ok, r.external_id) for r in rows] == [(1, True, topic),
                                                                (2, True, topic)]


def test_not_connected_is_a_failed_delivery(clock: ManualClock) -> None:
    client = MqttClient(BROKER)  # never connected
    sink = UnsSink(client, connected=client.connected, clock=clock)
    result = asyncio.run(sink.deliver(Outgoing.of(intervention_document(make_intervention()))))
    assert not result.ok
    assert result.attempts[0].error == "MQTT broker not connected"

"""``andon simulate`` counts what left it, checked against what a subscriber received.

Our own Mosquitto (it keeps sessions across its restart, and queues without limit), stopped
while the simulator publishes as fast as it can. QoS 1: every sample made reaches a
subscriber with a persistent QoS 1 session, and ``published`` is what the broker
acknowledged. QoS 0: ``published`` is what was written while connected (all of which the
subscriber got), the rest is reported as not sent, and the MQTT client logs no warning per
message while the broker is away. Every wait is bounded.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest

from andon.connectors.mqtt import MqttClient
from andon.services.simulate import Publisher, publish_simulation
from andon.simulator import PlantSimulator
from andon.spec import PlantSpec
from andon.testing import MosquittoProcess, until
from andon.testing.mosquitto import need_mosquitto_binary
from andon.testing.unique import unique_id
from edge.faults import T0

pytestmark = pytest.mark.mosquitto

SPEED = 5400.0  # 6 simulated hours (8,280 samples) in ~4 s: still running when the broker is back


def _broker(tmp: Path) -> MosquittoProcess:
    """Sessions kept across a restart, queues unbounded (a plant's broker would be so set).

    ``max_inflight_messages 0``: with ``queue_qos0_messages true``, Mosquitto 2.0.11 (Debian
    12's) never again sends a QoS 1 message to a persistent subscriber that came back to 20
    (its default in-flight limit) or more QoS 0 messages queued for it, until it reconnects;
    here the "end" barrier then never arrives whenever the subscriber reconnects after the
    simulator (docs/brokers.md, "Known broker quirks").
    """
    sessions = tmp / "sessions"
    sessions.mkdir()
    # as root, Mosquitto drops to its own user, which cannot write the sessions file here
    user = "user root\n" if os.geteuid() == 0 else ""
    return MosquittoProcess(tmp, options=f"persistence true\npersistence_location {sessions}/\n"
                                         "max_queued_messages 0\nqueue_qos0_messages true\n"
                                         "max_inflight_messages 0\n"
                                         + user)


class Subscriber:
    """A persistent QoS 1 session on the simulator's enterprise: counts (source, seq, tag)."""

    def __init__(self, url: str, enterprise: str) -> None:
        self.got: Counter[tuple[str, int, str]] = Counter()
        self.end = asyncio.Event()  # the simulator's last message arrived
        self.end_topic = f"andon/v1/{enterprise}/_andon/end"
        self.client = MqttClient(url, f"sub-{enterprise}", on_message=self._on, qos=1,
                                 subscriptions=[f"andon/v1/{enterprise}/#"], persistent=True)

    def _on(self, topic: str, payload: bytes) -> None:
        if topic == self.end_topic:
            self.end.set()
            return
        doc = json.loads(payload)
        self.got[doc["src"], doc["seq"], topic] += 1


class Story:
    """What one run gave: the publisher, the subscriber, samples made, seqs written, outage."""

    def __init__(self) -> None:
        self.written: list[int] = []  # seq of each sample handed to the socket
        self.made = 0
        self.down_at = 0  # samples made when the simulator saw the outage


async def _story(spec: PlantSpec, tmp: Path, qos: int,
                 ) -> tuple[Publisher, Subscriber, Story]:
    broker = _broker(tmp)
    broker.start()
    enterprise = spec.enterprise.id
    sub = Subscriber(broker.url, enterprise)
    client = MqttClient(broker.url, f"sim-{unique_id()}")
    story = Story()
    write = client.publish

    def publish(topic: str, payload: bytes, *, qos: int = 0, retain: bool = False) -> None:
        if topic != sub.end_topic:
            story.written.append(json.loads(payload)["seq"])  # the simulator's: made order
        write(topic, payload, qos=qos, retain=retain)

    client.publish = publish  # type: ignore[method-assign]
    try:
        await sub.client.connect()
        await sub.client.subscribed()
        await client.connect()
        sim = PlantSimulator(spec, seed=3, start=T0, lines={"cooling-water"})
        publisher = Publisher(client, qos)
        stop = asyncio.Event()
        running = asyncio.create_task(publish_simulation(
            sim, publisher, speed=SPEED, stop=stop, until=T0 + timedelta(hours=6)))
        await until(lambda: publisher.produced >= 300, "samples published before the outage",
                    30)
        await asyncio.to_thread(broker.stop)  # mid-run
        await until(lambda: publisher.outages >= 1, "the simulator to see the outage", 30)
        down_at = story.down_at = publisher.produced
        await until(lambda: publisher.produced >= down_at + 300 or running.done(),
                    "samples made while the broker is down", 30)
        await asyncio.to_thread(broker.start)  # same port, the sessions kept
        story.made = await asyncio.wait_for(running, 60)
        await until(publisher.connected, "the simulator connected again", 30)
        await publisher.drain(30)
        # a barrier: the broker handles one client's messages in order, and the subscriber
        # gets them in that order; once this one is there, everything before it is
        client.publish(sub.end_topic, b"end", qos=1)
        await asyncio.wait_for(sub.end.wait(), 30)
        return publisher, sub, story
    finally:
        await client.disconnect()
        await sub.client.disconnect()
        broker.stop()


def test_qos1_simulator_loses_nothing_across_a_broker_outage(demo_spec: PlantSpec,
                                                             tmp_path: Path) -> None:
    need_mosquitto_binary()
    publisher, sub, story = asyncio.run(_story(demo_spec, tmp_path, qos=1))
    made = story.made
    assert publisher.outages >= 1
    assert made == publisher.produced
    assert publisher.pending == 0
    assert publisher.published == made, publisher.summary()
    assert len(sub.got) == made, "every sample made reached the subscriber"
    assert publisher.summary() == f"{made} samples published (acknowledged by the broker, QoS 1)"


def test_qos0_simulator_counts_only_what_was_written_while_connected(
        demo_spec: PlantSpec, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    need_mosquitto_binary()
    with caplog.at_level(logging.WARNING, logger="gmqtt"):
        publisher, sub, story = asyncio.run(_story(demo_spec, tmp_path, qos=0))
    made = story.made
    assert publisher.outages >= 1
    assert publisher.unsent >= 300, "what was made while the broker was down is not published"
    assert publisher.published + publisher.unsent == made
    assert publisher.published == len(story.written) == len(set(story.written))
    received = {seq for _src, seq, _topic in sub.got}
    assert len(received) == len(sub.got)
    assert received <= set(story.written), "nothing reported unsent arrived"
    # QoS 0: what was written as the broker died may be lost, nothing else
    lost = set(story.written) - received
    assert all(seq < story.down_at for seq in lost), "lost after the outage was seen"
    after = [seq for seq in story.written if seq >= story.down_at]
    assert after, "samples were written after the broker came back"
    assert set(after) <= received
    assert publisher.summary() == (f"{publisher.published} samples published (QoS 0), "
                                   f"{publisher.unsent} not sent while the broker was "
                                   "unreachable")
    closed = [r for r in caplog.records if "CLOSED SOCKET" in r.getMessage()]
    assert len(closed) <= publisher.outages, "at most one closed-socket warning per outage"

"""``MqttClient(ack_when_handled=True)``: a QoS 1 message is acknowledged to the broker only
when its owner says so; what was not acknowledged comes again after an abrupt loss, and only
that; acknowledging on ``acks_due`` keeps pace with a fast producer through the broker's
in-flight window. Our own Mosquitto, with its defaults (``max_inflight_messages`` 20,
``max_queued_messages`` 1000). Every wait is bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import pytest

from andon.connectors.mqtt import MqttClient
from andon.testing import MosquittoProcess, topic_prefix, until
from andon.testing.mosquitto import need_mosquitto_binary

pytestmark = pytest.mark.mosquitto

N, K = 15, 6  # received, then acknowledged of them (N within the broker's window of 20)


class Inbox:
    """An ``on_batch`` handler keeping the integer payloads of one topic, in arrival order."""

    def __init__(self, topic: str) -> None:
        self.topic = topic
        self.got: list[int] = []
        self.arrived = asyncio.Event()

    def __call__(self, messages: list[tuple[str, bytes]]) -> None:
        self.got.extend(int(p) for t, p in messages if t == self.topic)
        self.arrived.set()

    async def wait_for(self, n: int, what: str) -> None:
        await until(lambda: len(self.got) >= n, what, 10, wake=self.arrived,
                    state=lambda: self.got)


def _deferred(url: str, inbox: Inbox, *, auto_reconnect: bool = True) -> MqttClient:
    return MqttClient(url, "deferred-ack", on_batch=inbox, subscriptions=[inbox.topic], qos=1,
                      persistent=True, ack_when_handled=True, auto_reconnect=auto_reconnect)


def _cut(client: MqttClient) -> None:
    """Drop the client's connection abruptly: no DISCONNECT, as when its process is killed."""
    client._client._connection._transport.abort()


def test_deferred_acknowledgement_needs_a_persistent_qos_1_session() -> None:
    url = "mqtt://127.0.0.1:1883"
    with pytest.raises(ValueError, match="persistent session at QoS 1"):
        MqttClient(url, "x", on_batch=lambda _m: None, qos=1, ack_when_handled=True)
    with pytest.raises(ValueError, match="persistent session at QoS 1"):
        MqttClient(url, "x", on_batch=lambda _m: None, persistent=True, ack_when_handled=True)
    with pytest.raises(ValueError, match="ack_every must be at least 1"):
        MqttClient(url, "x", on_batch=lambda _m: None, qos=1, persistent=True,
                   ack_when_handled=True, ack_every=0)
    client = MqttClient(url, "x", on_batch=lambda _m: None, qos=1, persistent=True,
                        ack_when_handled=True)
    assert client.ack_when_handled, "gmqtt's QoS 1 step could be replaced"
    assert (client.ack_mark(), client.unacked, client.acknowledge(10)) == (0, 0, 0)


async def _publish(pub: MqttClient, topic: str, numbers: range) -> None:
    for i in numbers:
        pub.publish(topic, str(i).encode(), qos=1)


async def _only_the_unacknowledged_come_again(broker: MosquittoProcess) -> list[int]:
    inbox = Inbox(topic_prefix("deferred"))
    sub = _deferred(broker.url, inbox, auto_reconnect=False)
    pub = MqttClient(broker.url, "producer", auto_reconnect=False)
    await sub.connect()
    await sub.subscribed()
    await pub.connect()
    again: MqttClient | None = None
    try:
        await _publish(pub, inbox.topic, range(K))
        await inbox.wait_for(K, "the first messages")
        mark = sub.ack_mark()  # covers the first K
        assert mark == K
        await _publish(pub, inbox.topic, range(K, N))
        await inbox.wait_for(N, "all the messages")
        assert inbox.got == list(range(N))
        assert sub.unacked == N, "nothing acknowledged on receipt"
        assert sub.acknowledge(mark) == K
        assert (sub.unacked, sub.acked, sub.acknowledge(mark)) == (N - K, K, 0)
        await sub.subscribed()  # a round trip after the PUBACKs: the broker has them
        _cut(sub)
        await asyncio.wait_for(sub.lost.wait(), 10)
        assert sub.unacked == 0, "a dropped connection's messages are never acknowledged"

        later = Inbox(inbox.topic)
        again = _deferred(broker.url, later)
        await again.connect()
        await _publish(pub, inbox.topic, range(N, N + 1))  # after any redelivery
        await later.wait_for(N - K + 1, "the unacknowledged messages again")
        await again.subscribed()  # nothing else is on its way
        again.acknowledge(again.ack_mark())
        return later.got
    finally:
        await pub.disconnect()
        await sub.disconnect()
        if again is not None:
            await again.disconnect()


def test_after_an_abrupt_loss_exactly_the_unacknowledged_messages_come_again(
        tmp_path: Path) -> None:
    need_mosquitto_binary()
    with MosquittoProcess(tmp_path) as broker:
        again = asyncio.run(_only_the_unacknowledged_come_again(broker))
    assert again == [*range(K, N), N], "the unacknowledged ones, then the marker"


async def _old_mark_on_a_new_connection(broker: MosquittoProcess) -> tuple[int, int, list[int]]:
    inbox = Inbox(topic_prefix("deferred"))
    sub = _deferred(broker.url, inbox)  # reconnects by itself
    pub = MqttClient(broker.url, "producer", auto_reconnect=False)
    await sub.connect()
    await sub.subscribed()
    await pub.connect()
    try:
        await _publish(pub, inbox.topic, range(N))
        await inbox.wait_for(N, "all the messages")
        old_mark = sub.ack_mark()
        _cut(sub)
        await asyncio.wait_for(sub.lost.wait(), 10)
        await inbox.wait_for(2 * N, "every message again, on the new connection")
        acked_with_old_mark = sub.acknowledge(old_mark)
        redelivered = sub.unacked
        assert sub.acknowledge(sub.ack_mark()) == N
        await sub.subscribed()  # the broker has the PUBACKs
        _cut(sub)
        await asyncio.wait_for(sub.lost.wait(), 10)
        await until(lambda: sub.connected.is_set() and not sub.lost.is_set(),
                    "the third connection", 10)
        await _publish(pub, inbox.topic, range(N, N + 1))
        await inbox.wait_for(2 * N + 1, "the marker after the third connection")
        return acked_with_old_mark, redelivered, inbox.got[2 * N:]
    finally:
        await pub.disconnect()
        await sub.disconnect()


def test_a_mark_of_a_dropped_connection_acknowledges_nothing_on_the_next(
        tmp_path: Path) -> None:
    """The broker sends the unacknowledged messages again on the new connection; the old
    mark covers none of them, a new one does, and then they never come again."""
    need_mosquitto_binary()
    with MosquittoProcess(tmp_path) as broker:
        old, redelivered, third = asyncio.run(_old_mark_on_a_new_connection(broker))
    assert (old, redelivered) == (0, N)
    assert third == [N], "only the marker: the redelivered ones were acknowledged"


FLOOD = 5_000


async def _flood(broker: MosquittoProcess) -> tuple[set[int], int, int]:
    inbox = Inbox(topic_prefix("flood"))
    sub = _deferred(broker.url, inbox, auto_reconnect=False)
    pub = MqttClient(broker.url, "producer", auto_reconnect=False)
    await sub.connect()
    await sub.subscribed()
    await pub.connect()
    done = asyncio.Event()

    async def owner() -> None:  # like the edge: when enough wait (``acks_due``), or each 0.5 s
        while not done.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(sub.acks_due.wait(), 0.5)
            sub.acknowledge(sub.ack_mark())

    owning = asyncio.create_task(owner())
    try:
        for start in range(0, FLOOD, 50):  # ~7,000 msg/s here: 350 times the window per 0.5 s
            await _publish(pub, inbox.topic, range(start, start + 50))
            await asyncio.sleep(0.005)  # the pace of the stream
        await inbox.wait_for(FLOOD, "every message of the flood")
        done.set()
        await owning
        sub.acknowledge(sub.ack_mark())
        return set(inbox.got), len(inbox.got), sub.acked
    finally:
        done.set()
        owning.cancel()
        await pub.disconnect()
        await sub.disconnect()


def test_acknowledging_on_acks_due_keeps_pace_with_a_fast_qos_1_producer(
        tmp_path: Path) -> None:
    """Mosquitto sends 20 unacknowledged messages at most and drops beyond 1,000 queued: an
    owner acknowledging only every 0.5 s got 1,040 of these 5,000; on ``acks_due``, all."""
    need_mosquitto_binary()
    with MosquittoProcess(tmp_path) as broker:
        ids, received, acked = asyncio.run(_flood(broker))
    assert ids == set(range(FLOOD))
    assert received == FLOOD, "each once"
    assert acked == FLOOD
